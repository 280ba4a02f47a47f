# ftune-shard: raw labelled text -> HDF5 shards + manifest.json (data_prep/).
ftune_program(ftune-shard ${PROJECT_SOURCE_DIR}/data_prep/shard_main.c
              ${PROJECT_SOURCE_DIR}/data_prep/shard_run.c
              ${PROJECT_SOURCE_DIR}/data_prep/shard_labels.c
              ${PROJECT_SOURCE_DIR}/data_prep/shard_write.c
              ${PROJECT_SOURCE_DIR}/data_prep/shard_publish.c
              ${PROJECT_SOURCE_DIR}/data_prep/shard_inspect.c)
