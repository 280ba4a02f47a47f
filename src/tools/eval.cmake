# ftune-eval (sharded evaluation, src/eval/include/eval/eval.h) and ftune-predict (texts in,
# labels and probabilities out).
ftune_program(ftune-eval ${PROJECT_SOURCE_DIR}/src/tools/eval_main.c)
ftune_program(ftune-predict ${PROJECT_SOURCE_DIR}/src/tools/predict_main.c)
