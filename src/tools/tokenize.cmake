# ftune-tokenize: a model folder's tokenizer on the command line (tok.h).
ftune_program(ftune-tokenize ${PROJECT_SOURCE_DIR}/src/tools/tokenize_main.c)
