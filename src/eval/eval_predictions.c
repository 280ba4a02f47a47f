/* eval_predictions: predictions.jsonl from every rank, in split order.
 *
 * Rank 0 scores the first slice, so it writes its own lines straight into
 * the report_predictions stream. Every other rank spools fixed-size binary
 * records (example index, true and predicted label, probabilities) into an
 * anonymous temporary file (tmpfile(): local disk, gone when closed, so
 * memory stays bounded whatever the split size) and, at the end, sends them
 * to rank 0 in chunks, one rank after the other in rank order. Ranks need
 * not share a file system. A spool that cannot be read back still sends
 * the agreed number of records (zeros) and then its failure, so no rank
 * waits forever. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "core/ft_alloc.h"

enum { EVAL_CHUNK_RECORDS = 4096, TAG_COUNT = 7101, TAG_DATA = 7102, TAG_STATUS = 7103 };

typedef struct record_head {
    int64_t example_index;
    int32_t true_label, pred_label;
} record_head;

struct eval_preds {
    int rank, k;
    size_t record_bytes;
    report_predictions *out; /* rank 0 */
    FILE *spool;             /* other ranks */
    int64_t count;
    unsigned char *buf; /* one record (other ranks) or a chunk */
    float *probs;       /* one record's probabilities (rank 0) */
};

ft_status eval_preds_open(const char *path, int num_classes, bool force, int rank, eval_preds **out,
                          ft_error *err)
{
    eval_preds *p = ft_calloc_array(1, sizeof *p);
    if (!p) return ft_fail(err, FT_ENOMEM, "out of memory");
    p->rank = rank;
    p->k = num_classes;
    p->record_bytes = sizeof(record_head) + (size_t)num_classes * sizeof(float);
    p->buf = ft_malloc_array(EVAL_CHUNK_RECORDS, p->record_bytes);
    p->probs = ft_malloc_array((size_t)num_classes, sizeof *p->probs);
    ft_status st = p->buf && p->probs ? FT_OK : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK && rank == 0)
        st = report_predictions_open(path, num_classes, force, &p->out, err);
    if (st == FT_OK && rank != 0 && !(p->spool = tmpfile()))
        st = ft_fail(err, FT_EIO,
                     "cannot create a temporary file for predictions: %s "
                     "(set TMPDIR to a writable folder)",
                     strerror(errno));
    if (st != FT_OK) {
        eval_preds_abort(p);
        p = NULL;
    }
    *out = p;
    return st;
}

ft_status eval_preds_add(eval_preds *p, int64_t example_index, int label, int pred,
                         const float *probs, ft_error *err)
{
    p->count++;
    if (p->out) return report_predictions_write(p->out, example_index, label, pred, probs, err);
    record_head h = {example_index, label, pred};
    memcpy(p->buf, &h, sizeof h);
    memcpy(p->buf + sizeof h, probs, (size_t)p->k * sizeof(float));
    if (fwrite(p->buf, p->record_bytes, 1, p->spool) != 1)
        return ft_fail(err, FT_EIO, "writing the predictions spool: %s", strerror(errno));
    return FT_OK;
}

/* A non-root rank: send the count, the records in chunks, then a status. */
static void send_spool(eval_preds *p, ft_status st, MPI_Comm comm)
{
    int64_t count = st == FT_OK ? p->count : -1;
    MPI_Send(&count, 1, MPI_INT64_T, 0, TAG_COUNT, comm);
    if (count < 0) return;
    int status = FT_OK;
    if (fflush(p->spool) != 0 || fseek(p->spool, 0, SEEK_SET) != 0) status = FT_EIO;
    for (int64_t done = 0; done < count;) {
        int64_t n = count - done < EVAL_CHUNK_RECORDS ? count - done : EVAL_CHUNK_RECORDS;
        if (status == FT_OK && fread(p->buf, p->record_bytes, (size_t)n, p->spool) != (size_t)n)
            status = FT_EIO;
        if (status != FT_OK) memset(p->buf, 0, (size_t)n * p->record_bytes);
        MPI_Send(p->buf, (int)(n * (int64_t)p->record_bytes), MPI_BYTE, 0, TAG_DATA, comm);
        done += n;
    }
    MPI_Send(&status, 1, MPI_INT, 0, TAG_STATUS, comm);
}

/* Rank 0: receive rank r's records and write them (or only drain them after
 * a failure). */
static ft_status receive_rank(eval_preds *p, int r, ft_status st, MPI_Comm comm, ft_error *err)
{
    int64_t count = 0;
    MPI_Recv(&count, 1, MPI_INT64_T, r, TAG_COUNT, comm, MPI_STATUS_IGNORE);
    if (count < 0) return st; /* that rank failed; comm_agree reports it */
    for (int64_t done = 0; done < count;) {
        int64_t n = count - done < EVAL_CHUNK_RECORDS ? count - done : EVAL_CHUNK_RECORDS;
        MPI_Recv(p->buf, (int)(n * (int64_t)p->record_bytes), MPI_BYTE, r, TAG_DATA, comm,
                 MPI_STATUS_IGNORE);
        for (int64_t i = 0; i < n && st == FT_OK; i++) {
            const unsigned char *rec = p->buf + (size_t)i * p->record_bytes;
            record_head h;
            memcpy(&h, rec, sizeof h);
            memcpy(p->probs, rec + sizeof h, (size_t)p->k * sizeof(float));
            st = report_predictions_write(p->out, h.example_index, h.true_label, h.pred_label,
                                          p->probs, err);
        }
        done += n;
    }
    int status = FT_OK;
    MPI_Recv(&status, 1, MPI_INT, r, TAG_STATUS, comm, MPI_STATUS_IGNORE);
    if (st == FT_OK && status != FT_OK)
        st = ft_fail(err, FT_EIO, "rank %d could not read back its predictions spool", r);
    return st;
}

ft_status eval_preds_finish(eval_preds *p, ft_status st, MPI_Comm comm, ft_error *err)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* Everyone must agree that every rank has an open eval_preds first. */
    st = comm_agree(comm, p ? st : (st == FT_OK ? FT_ERUNTIME : st), err);
    if (st == FT_OK) {
        if (rank == 0) {
            for (int r = 1; r < size; r++) st = receive_rank(p, r, st, comm, err);
        } else {
            send_spool(p, st, comm);
        }
    }
    if (p && p->out && st == FT_OK) {
        st = report_predictions_close(p->out, err); /* frees it */
        p->out = NULL;
    }
    eval_preds_abort(p);
    return comm_agree(comm, st, err);
}

void eval_preds_abort(eval_preds *p)
{
    if (!p) return;
    report_predictions_abort(p->out);
    if (p->spool) fclose(p->spool);
    free(p->buf);
    free(p->probs);
    free(p);
}
