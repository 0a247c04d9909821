list(APPEND CTXMEM_ENGINE_SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/tokenizer.c
    ${CMAKE_CURRENT_LIST_DIR}/ranks.c
    ${CMAKE_CURRENT_LIST_DIR}/pretokenize.c
    ${CMAKE_CURRENT_LIST_DIR}/bpe.c
    ${CMAKE_CURRENT_LIST_DIR}/truncate.c
    ${CMAKE_CURRENT_LIST_DIR}/framing.c
    ${CMAKE_CURRENT_LIST_DIR}/unicode_tables.c)
