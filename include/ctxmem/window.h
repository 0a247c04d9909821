/*
 * ctxmem/window.h - tiers and the context window.
 *
 * Every turn, ctxmem_window_assemble builds the window a model will see,
 * inside a hard token budget, from:
 *   - pinned blocks: application-owned text (system prompt, persona, tool
 *     definitions, user profile) with a priority; priority 0 is never cut;
 *   - the hot tier: the scope's most recent turns, verbatim;
 *   - the warm tier: rolling summaries of older spans;
 *   - the cold tier: every stored segment, searched by relevance to the query.
 * The window report says what went in, what stayed out and why.
 *
 * Token counts include chat framing (ctxmem_chat_framing, "openai-chat" by
 * default): each window item is one chat message, and the total never exceeds
 * budget.limit - budget.reserve_output.
 *
 * Threading: as the store. Assembly may write (demotion and summaries) and
 * then takes LMDB's writer lock for a short transaction; summarizing itself
 * runs outside any transaction.
 */
#ifndef CTXMEM_WINDOW_H
#define CTXMEM_WINDOW_H

#include "common.h"
#include "store.h"
#include "index.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Pinned blocks ---------------------------------------------------- */

/**
 * Create or replace a pinned block of a scope.
 *
 * A window for a scope includes the pins of that scope and of its ancestors
 * (the user alone, then user and agent). Priority 0 is never dropped or cut;
 * larger numbers are less important and are cut or dropped first.
 *
 * @param[in] store       the store.
 * @param[in] scope       the exact scope the pin belongs to.
 * @param[in] name        pin name, 1-64 bytes, unique in the scope ("system").
 * @param[in] role        CTXMEM_ROLE_SYSTEM, USER, ASSISTANT or NOTE.
 * @param[in] text        UTF-8 text; `len` bytes.
 * @param[in] priority    0 (never cut) to 1000.
 * @param[in] max_tokens  the pin's own limit; 0 means 8192.
 * @return CTXMEM_OK; CTXMEM_EINVAL for NULL arguments, a bad scope, name or
 *         role, invalid UTF-8, a priority over 1000; CTXMEM_EFULL when the text
 *         counts more than max_tokens (the message gives both numbers);
 *         CTXMEM_EREADONLY; CTXMEM_EIO.
 */
CTXMEM_API int ctxmem_pin_set(ctxmem_store *store, const ctxmem_scope *scope, const char *name,
                              int role, const char *text, size_t len, unsigned priority,
                              size_t max_tokens);

/**
 * Remove a pinned block.
 * @return CTXMEM_OK; CTXMEM_EINVAL; CTXMEM_ENOTFOUND when there is no such
 *         pin; CTXMEM_EREADONLY; CTXMEM_EIO.
 */
CTXMEM_API int ctxmem_pin_remove(ctxmem_store *store, const ctxmem_scope *scope,
                                 const char *name);

/* ---- Summarizer --------------------------------------------------------- */

/**
 * A summarizer: turns a span of conversation into shorter text. The built-in
 * default is extractive and constraint-preserving (see ctxmem_summarize_extractive).
 */
typedef struct ctxmem_summarizer {
    unsigned version;        /**< CTXMEM_SUMMARIZER_VERSION */
    const char *name;        /**< reported in the window report */
    size_t max_input_tokens; /**< the summarizer's own window; longer input is split; 0 = none */
    /**
     * Summarize `len` bytes of text into at most `max_tokens` tokens (as
     * counted by the store's tokenizer; longer output is cut). Write at most
     * `cap` bytes to `out` and the length to *out_len. Return 0 on success.
     */
    int (*summarize)(void *user, const char *text, size_t len, size_t max_tokens, char *out,
                     size_t cap, size_t *out_len);
    void *user;
} ctxmem_summarizer;

#define CTXMEM_SUMMARIZER_VERSION 1

/**
 * Install a summarizer for the store's warm tier (copied; `user` is borrowed
 * and must outlive the store). NULL restores the built-in extractive one.
 * Not thread-safe with respect to concurrent assembly on the same handle.
 * @return CTXMEM_OK; CTXMEM_EINVAL for a NULL store, a bad version or a
 *         missing callback.
 */
CTXMEM_API int ctxmem_store_set_summarizer(ctxmem_store *store, const ctxmem_summarizer *summ);

/**
 * The built-in extractive summary: sentences that state requirements,
 * decisions, preferences, numbers, dates or names ("must", "needs to match",
 * "don't", "always", amounts, deadlines) are kept verbatim first, then the
 * remaining sentences by information content, all in their original order,
 * within `max_tokens` under `tok`.
 *
 * @param[out] out      malloc'd NUL-terminated summary; the caller frees it.
 * @param[out] out_len  its length.
 * @return CTXMEM_OK; CTXMEM_EINVAL for NULL arguments or invalid UTF-8;
 *         CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_summarize_extractive(char **out, size_t *out_len,
                                           const ctxmem_tokenizer *tok, const char *text,
                                           size_t len, size_t max_tokens);

/** The tier state of a scope (ctxmem_scope_tiers). */
typedef struct ctxmem_tier_info {
    uint64_t hot_from_seq;   /**< first sequence number of the hot tier (1: all hot) */
    uint64_t last_seq;       /**< the scope's last sequence number; 0 when empty */
    size_t summaries;        /**< summaries in the warm tier */
    size_t summary_bytes;    /**< their total text length */
} ctxmem_tier_info;

/**
 * Read the tier state of one exact scope in one snapshot.
 * @return CTXMEM_OK (a scope without segments gives zeros and hot_from_seq 1);
 *         CTXMEM_EINVAL for NULL arguments or a bad scope; CTXMEM_ECORRUPT;
 *         CTXMEM_EIO; CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_scope_tiers(ctxmem_store *store, const ctxmem_scope *scope,
                                  ctxmem_tier_info *info);

/* ---- Budget and assembly ------------------------------------------------ */

/** The budget of one window. Initialise with CTXMEM_BUDGET_INIT. */
typedef struct ctxmem_budget {
    unsigned version;      /**< CTXMEM_BUDGET_VERSION */
    size_t limit;          /**< the model's context limit, tokens; required */
    size_t reserve_output; /**< tokens kept free for the model's reply */
    /**
     * Shares of the space left after the pins. Both zero means the defaults,
     * hot 0.25 and warm 0.10: most of a window goes to what is relevant to
     * the query (the cold tier), which is what keeps old constraints and
     * facts in view. The cold tier gets whatever hot and warm leave.
     */
    float hot_share;
    float warm_share;
    size_t hot_min_turns;  /**< turns kept hot even past hot_share; default 2 */
    const ctxmem_search_opts *search;     /**< cold-tier search options, or NULL */
    const ctxmem_chat_framing *framing;   /**< message overheads; NULL = "openai-chat" */
} ctxmem_budget;

#define CTXMEM_BUDGET_VERSION 1
#define CTXMEM_BUDGET_INIT {CTXMEM_BUDGET_VERSION, 0, 0, 0.0f, 0.0f, 0, NULL, NULL}

/** Where a window item comes from. */
typedef enum ctxmem_tier {
    CTXMEM_TIER_PINNED = 0,
    CTXMEM_TIER_HOT = 1,
    CTXMEM_TIER_WARM = 2,
    CTXMEM_TIER_COLD = 3
} ctxmem_tier;

#define CTXMEM_TIER_COUNT 4
#define CTXMEM_ROLE_COUNT 9 /* role values 1..8; index 0 unused */

/** Name of a tier ("pinned", "hot", "warm", "cold"); static. */
CTXMEM_API const char *ctxmem_tier_name(int tier);

/** Flags of a window item. */
enum {
    CTXMEM_ITEM_CUT = 1 << 0,     /**< the text was cut at a token boundary to fit */
    CTXMEM_ITEM_OUTDATED = 1 << 1 /**< superseded by a later segment */
};

/** One message of the window, in the order it is sent. */
typedef struct ctxmem_window_item {
    int tier;             /**< a ctxmem_tier */
    int role;             /**< a ctxmem_role */
    uint64_t segment;     /**< segment id; 0 for pins and summaries */
    uint64_t first_seq;   /**< summaries: first sequence number covered */
    uint64_t last_seq;    /**< summaries: last sequence number covered */
    const char *name;     /**< speaker, tool or pin name; "" when none */
    const char *text;     /**< the content sent, as rendered (timestamps, markers) */
    size_t text_len;
    const char *pair_id;  /**< tool call id; "" when none */
    int64_t time;         /**< Unix ms; 0 for pins */
    size_t tokens;        /**< tokens of this message including framing */
    float score;          /**< cold items: fused search score; else 0 */
    unsigned flags;       /**< CTXMEM_ITEM_* */
    const char *reason;   /**< why it is in: "pinned", "recent", "summary", "relevant" */
} ctxmem_window_item;

/** A segment or block left out or cut, with the reason. */
typedef struct ctxmem_window_drop {
    int tier;             /**< the tier it would have come from */
    uint64_t segment;     /**< segment id; 0 for pins and summaries */
    const char *name;     /**< pin name for pins; "" otherwise */
    size_t tokens;        /**< tokens it would have cost (before any cut) */
    int cut;              /**< 1: included but cut; 0: left out */
    /**
     * "over_budget" (did not fit the room left), "lower_score" (a cold hit
     * whose room went to better-ranked ones), "superseded", "in_summary",
     * "duplicate", "unpaired" (a tool half without its other half); see
     * docs/REPORT.md
     */
    const char *reason;
} ctxmem_window_drop;

/** The window report: the numbers of one assembly. */
typedef struct ctxmem_window_report {
    const char *tokenizer;      /**< name of the tokenizer that counted */
    int tokenizer_exact;        /**< 0 for the approx estimate */
    size_t limit;               /**< budget.limit */
    size_t reserve_output;      /**< budget.reserve_output */
    size_t available;           /**< limit - reserve_output */
    size_t tokens;              /**< tokens of the window, framing included; <= available */
    size_t reply_priming;       /**< framing tokens counted once per window */
    size_t tier_tokens[CTXMEM_TIER_COUNT];
    size_t tier_items[CTXMEM_TIER_COUNT];
    size_t role_tokens[CTXMEM_ROLE_COUNT];
    size_t n_dropped;           /**< entries in ctxmem_window_drops */
    size_t demoted;             /**< turns moved from hot to warm in this call */
    size_t summaries_created;   /**< summaries written in this call */
    size_t summaries_merged;    /**< warm summaries compressed in this call */
    uint64_t hot_from_seq;      /**< first sequence number of the hot tier */
    double us_total;            /**< wall time of the call, microseconds */
    double us_pinned, us_maintain, us_hot, us_warm, us_search, us_cold;
    const char *summarizer;     /**< name of the summarizer used */
} ctxmem_window_report;

typedef struct ctxmem_window ctxmem_window;

/**
 * Assemble the context window of a scope.
 *
 * Steps: count the pinned blocks (CTXMEM_EFULL if priority-0 pins alone do
 * not fit); demote the oldest hot turns while the hot tier exceeds its share
 * (at least hot_min_turns stay), folding them into a warm summary, and compress
 * the warm tier while it exceeds its share (these changes are stored, unless
 * the store is read-only); place the hot turns, the summaries, and fill the
 * rest with the best cold segments for the query, deduplicated against hot
 * and summaries, in chronological order with their timestamps. A segment
 * too large for the space left is cut at a token boundary. Tool calls and
 * results are kept or dropped together. Superseded segments rank below their
 * successors and are marked outdated if shown.
 *
 * @param[out] out        the window; NULL on failure. Free with ctxmem_window_free.
 * @param[in]  store      the store.
 * @param[in]  scope      the scope (exact: user, agent, session).
 * @param[in]  query      text to rank the cold tier by; NULL means the
 *                        scope's latest user turn.
 * @param[in]  query_len  bytes of query.
 * @param[in]  budget     the budget; budget->limit is required.
 * @return CTXMEM_OK;
 *         CTXMEM_EINVAL for NULL arguments, a bad scope, invalid UTF-8, a bad
 *         budget (limit 0, reserve_output >= limit, shares outside [0, 1]);
 *         CTXMEM_EFULL when the priority-0 pins alone exceed the budget (the
 *         message says by how many tokens);
 *         CTXMEM_ECALLBACK when a summarizer or embedder failed;
 *         CTXMEM_EIO, CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_window_assemble(ctxmem_window **out, ctxmem_store *store,
                                      const ctxmem_scope *scope, const char *query,
                                      size_t query_len, const ctxmem_budget *budget);

/** Free a window. NULL is fine. */
CTXMEM_API void ctxmem_window_free(ctxmem_window *win);

/** Number of items in the window. */
CTXMEM_API size_t ctxmem_window_count(const ctxmem_window *win);

/** Item i (0-based, in sending order); NULL when out of range. Borrowed until free. */
CTXMEM_API const ctxmem_window_item *ctxmem_window_item_at(const ctxmem_window *win, size_t i);

/** The report. Borrowed until the window is freed. */
CTXMEM_API const ctxmem_window_report *ctxmem_window_report_get(const ctxmem_window *win);

/** Drop i (0-based) of the report; NULL when out of range. Borrowed until free. */
CTXMEM_API const ctxmem_window_drop *ctxmem_window_drop_at(const ctxmem_window *win, size_t i);

/**
 * The report as JSON, with stable field names (documented in docs/REPORT.md;
 * OpenTelemetry gen_ai.* names where one exists).
 * @param[out] json  malloc'd NUL-terminated JSON; the caller frees it.
 * @return CTXMEM_OK; CTXMEM_EINVAL; CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_window_report_json(const ctxmem_window *win, char **json);

/**
 * The window as OpenAI-style chat messages: a JSON array of
 * {"role", "content"[, "name"]} objects; tool calls as assistant messages with
 * "tool_calls", tool results as "tool" messages with "tool_call_id".
 * @param[out] json  malloc'd NUL-terminated JSON; the caller frees it.
 * @return CTXMEM_OK; CTXMEM_EINVAL; CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_window_messages_json(const ctxmem_window *win, char **json);

/** Called after every successful assembly with the finished window (borrowed). */
typedef void (*ctxmem_trace_cb)(void *user, const ctxmem_window *win);

/**
 * Install a trace callback for every assembly on this handle (NULL removes
 * it). The callback must not free the window. Not thread-safe with respect to
 * concurrent assembly on the same handle.
 * @return CTXMEM_OK; CTXMEM_EINVAL for a NULL store.
 */
CTXMEM_API int ctxmem_store_set_trace(ctxmem_store *store, ctxmem_trace_cb cb, void *user);

/* ---- Recall tool ------------------------------------------------------------ */

/**
 * The JSON definition (OpenAI function-calling format) of the `memory_search`
 * tool an application can hand to its model. Static storage.
 */
CTXMEM_API const char *ctxmem_recall_tool_json(void);

/**
 * Answer a `memory_search` tool call from the store.
 *
 * @param[out] result      malloc'd JSON {"results": [{"id", "time", "role",
 *                         "name", "text", "score"}...]}, packed within
 *                         max_tokens; the caller frees it.
 * @param[in]  store       the store.
 * @param[in]  scope       the scope searched (agent/session NULL = any).
 * @param[in]  arguments   the call's arguments JSON: {"query": str, "k": int?}.
 * @param[in]  max_tokens  token limit of the result text.
 * @return CTXMEM_OK; CTXMEM_EINVAL for malformed arguments (named in the
 *         message); errors of ctxmem_search; CTXMEM_ENOMEM.
 */
CTXMEM_API int ctxmem_recall_answer(char **result, ctxmem_store *store, const ctxmem_scope *scope,
                                    const char *arguments, size_t max_tokens);

#ifdef __cplusplus
}
#endif

#endif /* CTXMEM_WINDOW_H */
