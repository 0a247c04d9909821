/*
 * Private readers of conversation datasets, shared by benchmarks and the CLI
 * (`ctxmem import`, `ctxmem replay`). Not part of the public API.
 *
 * LoCoMo (locomo10.json, schema in ../shared/data/locomo/SOURCE.md): only
 * the dialogue is read as engine input (speaker, text, photo caption, session
 * date); the questions and their evidence ids are read as labels for
 * measuring. Observations, summaries, event summaries and answers are never
 * read.
 */
#ifndef CTXMEM_IMPORT_H
#define CTXMEM_IMPORT_H

#include "ctxmem/common.h"
#include "ctxmem/store.h"

#include <stddef.h>
#include <stdint.h>

/* One dialogue turn. Strings are owned by the set; caption may be NULL. */
typedef struct locomo_turn {
    const char *speaker;
    const char *dia_id;  /* "D<session>:<index>" as in the file */
    const char *text;
    const char *caption; /* blip_caption of a shared photo, or NULL */
    int session;         /* session number, from 1 */
    int64_t time;        /* the session's date, Unix milliseconds (taken as UTC) */
} locomo_turn;

/* One question; evidence as indexes into the conversation's turns. */
typedef struct locomo_qa {
    const char *question;
    int category;          /* 1-5 (see SOURCE.md) */
    size_t *evidence;      /* resolved turn indexes, no duplicates */
    size_t n_evidence;
    size_t n_unresolved;   /* evidence ids that name no turn (dropped) */
} locomo_qa;

typedef struct locomo_conv {
    const char *sample_id;
    const char *speaker_a, *speaker_b;
    locomo_turn *turns;    /* sessions in numeric order, turns in file order */
    size_t n_turns;
    locomo_qa *qa;
    size_t n_qa;
} locomo_conv;

typedef struct locomo_set {
    locomo_conv *conv;
    size_t n_conv;
    void *priv;            /* keeps the parsed JSON alive */
} locomo_set;

/*
 * Parse LoCoMo JSON text. `name` (a file name) prefixes error messages.
 * Returns CTXMEM_OK; CTXMEM_EINVAL for malformed input, with the line, column
 * and byte offset of a JSON syntax error, or the conversation, session, turn
 * or question and the field that is missing or of the wrong type;
 * CTXMEM_ENOMEM. On failure *out is NULL. Free with import_locomo_free.
 */
int import_locomo_parse(locomo_set **out, const char *json, size_t len, const char *name);

/* Read and parse a file; CTXMEM_ENOTFOUND / CTXMEM_EIO when it cannot be read. */
int import_locomo_load(locomo_set **out, const char *path);

void import_locomo_free(locomo_set *set);

/* Parse a LoCoMo session date ("1:56 pm on 8 May, 2023") to Unix ms (UTC). */
int import_locomo_date(const char *s, int64_t *ms);

/*
 * Normalise one evidence entry to dialogue ids, calling fn for each: splits
 * "D8:6; D9:17" and "D9:1 D4:4", repairs "D:11:26" to "D11:26" and "D30:05"
 * to "D30:5". Returns the number of ids found.
 */
size_t import_locomo_evidence_ids(const char *s, void (*fn)(void *ctx, int session, int index),
                                  void *ctx);

/*
 * The segment text of a turn: "Speaker: text" plus " [shares a photo:
 * caption]" when it has a caption. malloc'd; NULL on ENOMEM.
 */
char *import_locomo_turn_text(const locomo_turn *t, size_t *len);

/* ---- OpenAI chat format ---------------------------------------------- */

/* One message as a segment to add: tool calls are split one per call. */
typedef struct openai_msg {
    int role;             /* a ctxmem_role: system, user, assistant, tool_call, tool_result */
    const char *name;     /* speaker or function name, or NULL */
    const char *text;     /* content, or the call's arguments JSON */
    size_t text_len;
    const char *pair_id;  /* tool call id, or NULL */
} openai_msg;

typedef struct openai_conv {
    openai_msg *msgs;
    size_t n, cap;
} openai_conv;

typedef struct openai_set {
    openai_conv *conv;
    size_t n_conv;
    void *priv; /* keeps the parsed JSON alive */
} openai_set;

/*
 * Parse OpenAI chat messages: a JSON array of messages, an object with a
 * "messages" array, an array of such objects, or JSONL of either (a line
 * holding a message continues one conversation; a line holding an object
 * with "messages" is a conversation of its own). Roles system, developer,
 * user, assistant (with optional tool_calls) and tool (with tool_call_id).
 * Returns CTXMEM_OK; CTXMEM_EINVAL naming `name`, the line and column of a
 * syntax error (invalid UTF-8 included), or the conversation, message and
 * field at fault; an empty input is an error. CTXMEM_ENOMEM.
 */
int import_openai_parse(openai_set **out, const char *text, size_t len, const char *name);

void import_openai_free(openai_set *set);

/* Fill a segment to add from a message (pointers borrowed from the set). */
void import_openai_segment(const openai_msg *m, ctxmem_segment_in *in);

/* Read a whole file into a malloc'd NUL-terminated buffer; ENOTFOUND / EIO naming the path. */
int import_read_file(const char *path, char **text, size_t *len);

#endif /* CTXMEM_IMPORT_H */
