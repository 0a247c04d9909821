/*
 * ctxmem.h - embeddable context-window memory for LLM applications.
 *
 * Include this header to get the whole public API:
 *   ctxmem/common.h     version, error model, UTF-8 check
 *   ctxmem/tokenizer.h  exact token counting (cl100k_base, o200k_base, custom)
 *   ctxmem/store.h      the durable segment store on LMDB
 *   ctxmem/index.h      the cold tier: embeddings, search, forgetting
 *   ctxmem/window.h     tiers, pinned blocks, summaries, window assembly, report
 */
#ifndef CTXMEM_H
#define CTXMEM_H

#include "ctxmem/common.h"
#include "ctxmem/tokenizer.h"
#include "ctxmem/store.h"
#include "ctxmem/index.h"
#include "ctxmem/window.h"

#endif /* CTXMEM_H */
