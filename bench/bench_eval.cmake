# bench_eval: ftune-eval's examples/s on BERT-base at batch 64 x 128 tokens
# against PyTorch's forward pass (bench_eval.sh runs both; it uses ftune-eval
# and tests' eval_fixture, so nothing is built here).
