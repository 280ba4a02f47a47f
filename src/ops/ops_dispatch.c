/* ops_dispatch: ops.h's functions, each a call through the current back
 * end's table (ops_backend.h), generated from ops_list.h; the CPU's back end
 * until ops_backend_use says otherwise. An operation the back end does not do
 * (a NULL pointer) stops the process naming the operation and the back end:
 * a caller that can do without it asks ops_backend_require first. */
#include "ops/ops.h"
#include "ops/ops_backend.h"

static const ops_backend *current;

void ops_backend_use(const ops_backend *b) { current = b; }

const ops_backend *ops_backend_current(void)
{
    if (!current) current = ops_cpu_backend();
    return current;
}

static const char *const op_names[OPS_OP_COUNT] = {
#define OPS_NAME(name, params, args)          #name,
#define OPS_NAME_RET(ret, name, params, args) #name,
    OPS_LIST(OPS_NAME, OPS_NAME_RET)
#undef OPS_NAME
#undef OPS_NAME_RET
};

const char *ops_op_name(ops_op op)
{
    return (unsigned)op < OPS_OP_COUNT ? op_names[op] : "(not an op)";
}

bool ops_backend_has(const ops_backend *b, ops_op op)
{
    switch (op) {
#define OPS_HAS(name, params, args) \
    case OPS_OP_##name:             \
        return b->name != NULL;
#define OPS_HAS_RET(ret, name, params, args) OPS_HAS(name, params, args)
        OPS_LIST(OPS_HAS, OPS_HAS_RET)
#undef OPS_HAS
#undef OPS_HAS_RET
    case OPS_OP_COUNT: break;
    }
    return false;
}

static ft_status unsupported(const ops_backend *b, ops_op op, ft_error *err)
{
    return ft_fail(err, FT_EINVAL, "unsupported op %s on back end %s", ops_op_name(op), b->name);
}

ft_status ops_backend_require(const ops_backend *b, const ops_op *ops, int count, ft_error *err)
{
    for (int i = 0; i < count; i++)
        if (!ops_backend_has(b, ops[i])) return unsupported(b, ops[i], err);
    return FT_OK;
}

/* The current back end, which must do op (a bug otherwise: see above). */
static const ops_backend *backend_for(ops_op op)
{
    const ops_backend *b = ops_backend_current();
    if (!ops_backend_has(b, op)) {
        ft_error err;
        unsupported(b, op, &err);
        ft_check_failed(__FILE__, __LINE__, "ops_backend_has(b, op)", err.msg);
    }
    return b;
}

#define OPS_DISPATCH(name, params, args) \
    void ops_##name params { backend_for(OPS_OP_##name)->name args; }
#define OPS_DISPATCH_RET(ret, name, params, args) \
    ret ops_##name params { return backend_for(OPS_OP_##name)->name args; }
OPS_LIST(OPS_DISPATCH, OPS_DISPATCH_RET)
