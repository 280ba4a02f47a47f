ftune_program(ftune-train ${PROJECT_SOURCE_DIR}/src/tools/train_main.c)
