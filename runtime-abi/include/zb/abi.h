/*
 * zb/abi.h - the binding ABI, version 1.
 *
 * This header is the whole contract between a host runtime and a binding shared object.
 * It is plain C11 and includes only <stdint.h>, <stddef.h> and <stdbool.h>.
 *
 * Names come in three kinds, with one prefix:
 *   zb_*_t           types shared by both sides;
 *   zb_binding_api_t the hooks a binding implements (field names start with on_);
 *   zb_host_api_t    the calls the host implements.
 *
 * A binding .so exports exactly one symbol, ZB_BINDING_INIT_SYMBOL. Everything else is hidden.
 *
 * Every declaration states three things in the same words:
 *   Ownership: who owns the memory or handle.
 *   Lifetime:  until when a pointer stays valid.
 *   Thread:    which thread calls it.
 *
 * Versioning: both tables begin with abi_major, abi_minor and struct_size. A host refuses a
 * binding of another major, accepts an older minor, and never reads past struct_size. Fields
 * are only ever appended, and any bump of this file's content bumps ZB_ABI_MINOR (or
 * ZB_ABI_MAJOR when it breaks): a test hashes this header to hold that line.
 */
#ifndef ZB_ABI_H
#define ZB_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NOLINTBEGIN */

#define ZB_ABI_MAJOR 1
#define ZB_ABI_MINOR 0

/* The one symbol a binding exports; its type is zb_binding_init_fn. */
#define ZB_BINDING_INIT_SYMBOL "zb_binding_init"

/* ------------------------------------------------------------------------------------------ */
/* Types                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/*
 * Frame types. The values are Zilla's: frames that travel with a stream (sent by the side
 * that writes that direction) have small values; frames that travel against it (sent by the
 * side that reads that direction) have bit 30 set.
 */
typedef enum zb_frame_type {
  ZB_FRAME_BEGIN = 0x00000001,    /* opens a direction; the initial BEGIN opens the stream */
  ZB_FRAME_DATA = 0x00000002,     /* payload, or a fragment of one (see ZB_DATA_*) */
  ZB_FRAME_END = 0x00000003,      /* closes a direction gracefully */
  ZB_FRAME_ABORT = 0x00000004,    /* closes a direction with an error */
  ZB_FRAME_FLUSH = 0x00000005,    /* out-of-band extension without payload */
  ZB_FRAME_RESET = 0x40000001,    /* the reader refuses or aborts the direction */
  ZB_FRAME_WINDOW = 0x40000002,   /* the reader grants credit for the direction */
  ZB_FRAME_SIGNAL = 0x40000003,   /* a timer or a post from another thread (host to binding) */
  ZB_FRAME_CHALLENGE = 0x40000004 /* the reader asks the writer to re-authorize */
} zb_frame_type;

/* True when frames of this type travel against the direction they name. */
#define ZB_FRAME_IS_THROTTLE(type) ((((uint32_t)(type)) & 0x40000000u) != 0)

/* DATA flags: a message split over several DATA frames has INIT on the first fragment and FIN
 * on the last; a whole message in one frame has both (ZB_DATA_COMPLETE). */
#define ZB_DATA_FIN 0x01u
#define ZB_DATA_INIT 0x02u
#define ZB_DATA_INCOMPLETE 0x04u
#define ZB_DATA_SKIP 0x08u
#define ZB_DATA_COMPLETE (ZB_DATA_INIT | ZB_DATA_FIN)

/*
 * Stream ids: a stream has two directions. The initial direction has an odd id; the reply
 * direction's id is the initial id with bit 0 cleared. The host assigns initial ids.
 */
#define ZB_STREAM_IS_INITIAL(id) ((((uint64_t)(id)) & 1u) != 0)
#define ZB_STREAM_REPLY_ID(initial_id) (((uint64_t)(initial_id)) & ~(uint64_t)1u)
#define ZB_STREAM_INITIAL_ID(reply_id) (((uint64_t)(reply_id)) | (uint64_t)1u)

/* Extension type id 0 means "no extension". Other ids come from zb_host_api_t.type_id. */
#define ZB_EXTENSION_NONE 0u

/*
 * A frame. Every field is meaningful for every type unless a comment names the types that use
 * it; unused fields are zero.
 *
 * Ownership: the caller. Lifetime: the call it is passed to; a receiver that needs any byte of
 * it afterwards copies it. Thread: the engine thread of the binding.
 */
typedef struct zb_frame_t {
  uint32_t struct_size; /* sizeof(zb_frame_t) of the sender; readers never read past it */
  uint32_t type;        /* a zb_frame_type */
  uint64_t origin_id;   /* binding id of the side that initiated the stream */
  uint64_t routed_id;   /* binding id the stream is routed to */
  uint64_t stream_id;   /* odd: initial direction, even: reply direction */
  int64_t sequence;     /* writer's position in this direction, in bytes including padding */
  int64_t acknowledge;  /* reader's acknowledged position in this direction */
  int32_t maximum;      /* reader's window size for this direction */
  int32_t padding;      /* WINDOW: bytes the writer adds to each DATA's reserved */
  int64_t timestamp;    /* nanoseconds since the Unix epoch, or 0 */
  uint64_t trace_id;
  uint64_t authorization;
  uint64_t affinity;    /* BEGIN */
  uint64_t budget_id;   /* DATA, FLUSH, WINDOW: shared budget, or 0 */
  int32_t reserved;     /* DATA, FLUSH: credit this frame consumes (length + padding) */
  int32_t minimum;      /* WINDOW: smallest useful grant */
  uint8_t flags;        /* DATA: ZB_DATA_* */
  uint8_t capabilities; /* WINDOW */
  uint16_t unused;      /* zero */
  int32_t signal_id;    /* SIGNAL: the id given when it was scheduled or posted */
  /* DATA and SIGNAL: the payload. payload == NULL is a null payload (a Kafka tombstone), which is
   * not the same as an empty one: an empty payload has a non-NULL pointer and length 0. */
  const uint8_t* payload;
  size_t payload_length;
  /* The typed extension: FlatBuffers bytes of the type named by extension_type_id. */
  uint32_t extension_type_id;
  uint32_t extension_length;
  const uint8_t* extension;
} zb_frame_t;

/* Results of host calls. Negative values are errors. */
typedef enum zb_result {
  ZB_OK = 0,
  ZB_ERR_INVALID = -1,        /* a malformed frame or argument */
  ZB_ERR_NO_ROUTE = -2,       /* no binding with the frame's routed_id */
  ZB_ERR_REFUSED = -3,        /* the target binding refused the stream */
  ZB_ERR_UNKNOWN_STREAM = -4, /* no open stream with that id for the caller */
  ZB_ERR_CLOSED = -5          /* the direction is already closed */
} zb_result;

/* Log levels, in increasing severity. */
typedef enum zb_log_level {
  ZB_LOG_DEBUG = 0,
  ZB_LOG_INFO = 1,
  ZB_LOG_WARN = 2,
  ZB_LOG_ERROR = 3
} zb_log_level;

/* Metric kinds for zb_host_api_t.metric_register. */
typedef enum zb_metric_kind {
  ZB_METRIC_COUNTER = 0,  /* monotonically increasing; record() adds */
  ZB_METRIC_GAUGE = 1,    /* record() adds a signed delta */
  ZB_METRIC_HISTOGRAM = 2 /* record() observes one value */
} zb_metric_kind;

/* Opaque handles. Each is created by one side and destroyed by the same side. */
typedef struct zb_host_binding_t zb_host_binding_t; /* host's view of one declared binding */
typedef struct zb_binding_t zb_binding_t;           /* binding's state for one declared binding */
typedef struct zb_stream_t zb_stream_t;             /* binding's state for one stream */

/*
 * What the host tells a binding about one declared binding (one entry of zilla.yaml's
 * `bindings`). JSON texts are validated against the binding's schema and have ${{env.NAME}}
 * substituted. Strings are NUL-terminated UTF-8.
 *
 * Ownership: the host. Lifetime: the on_binding_new call. Thread: the host's control thread.
 */
typedef struct zb_binding_config_t {
  uint32_t struct_size;
  uint64_t id;              /* this binding's id; frames routed to it carry it as routed_id */
  const char* namespace_;   /* zilla.yaml `name` */
  const char* name;         /* the binding's key under `bindings` */
  const char* type;         /* `type`, e.g. "kafka-grpc" */
  const char* kind;         /* `kind`, e.g. "remote_server" */
  uint64_t entry_id;        /* id of the `entry` binding, or 0 */
  uint64_t exit_id;         /* id of the binding-level `exit`, or 0 */
  const char* options_json; /* `options` as JSON text; "{}" when absent */
  const char* routes_json;  /* `routes` as JSON text; "[]" when absent */
  const char* binding_json; /* the whole binding entry as JSON text */
} zb_binding_config_t;

/* ------------------------------------------------------------------------------------------ */
/* Calls the host implements                                                                  */
/* ------------------------------------------------------------------------------------------ */

/*
 * The host's table of calls, handed to the binding at init.
 *
 * Ownership: the host. Lifetime: until the binding's on_unload returns. Thread: every call is
 * made on the engine thread, except `post` and `log`, which any thread may call.
 */
typedef struct zb_host_api_t {
  uint16_t abi_major;
  uint16_t abi_minor;
  uint32_t struct_size;

  /* Writes a line to the host's log. msg need not be NUL-terminated.
   * Ownership: caller. Lifetime: the call. Thread: any. */
  void (*log)(zb_host_binding_t* host_binding, zb_log_level level, const char* msg,
              size_t msg_length);

  /* The id the host assigned to an extension type name such as "kafka" or "grpc"; the same name
   * always gives the same non-zero id within one host process.
   * Ownership: caller keeps name. Lifetime: the call. Thread: engine. */
  uint32_t (*type_id)(zb_host_binding_t* host_binding, const char* type_name);

  /* The id of the binding declared under `name` in the same namespace, or 0 if there is none.
   * Ownership: caller keeps name. Lifetime: the call. Thread: engine. */
  uint64_t (*binding_id)(zb_host_binding_t* host_binding, const char* name);

  /* A fresh initial (odd) stream id for a stream the caller will open to routed_id.
   * Thread: engine. */
  uint64_t (*stream_id)(zb_host_binding_t* host_binding, uint64_t routed_id);

  /*
   * Opens a stream: `begin` is a BEGIN on an initial id from stream_id(), and `stream` is the
   * caller's handle, to which the host delivers every later frame of the stream (through
   * on_frame). The target's hooks may run, and frames may arrive on `stream`, before this
   * returns. Returns ZB_OK, ZB_ERR_NO_ROUTE or ZB_ERR_REFUSED; on an error nothing is delivered
   * and the stream does not exist.
   * Ownership: caller keeps begin and stream. Lifetime: begin for the call; stream until
   * on_stream_release. Thread: engine.
   */
  int32_t (*stream_begin)(zb_host_binding_t* host_binding, zb_stream_t* stream,
                          const zb_frame_t* begin);

  /*
   * Sends any other frame on a stream the caller is a side of: the reply BEGIN, DATA, END,
   * ABORT, FLUSH on a direction it writes; WINDOW, RESET, CHALLENGE on a direction it reads. The
   * host delivers it to the other side before returning. Returns ZB_OK, ZB_ERR_UNKNOWN_STREAM or
   * ZB_ERR_CLOSED.
   * Ownership: caller. Lifetime: the call. Thread: engine.
   */
  int32_t (*stream_send)(zb_host_binding_t* host_binding, const zb_frame_t* frame);

  /*
   * Schedules a SIGNAL frame for `deadline_ns` (the host's monotonic clock, see now_ns). It is
   * delivered through on_signal with stream_id and signal_id as given. Returns an id for
   * signal_cancel (never 0).
   * Thread: engine.
   */
  uint64_t (*signal_at)(zb_host_binding_t* host_binding, int64_t deadline_ns, uint64_t stream_id,
                        int32_t signal_id);

  /* Cancels a scheduled signal; cancelling one already delivered is harmless.
   * Thread: engine. */
  void (*signal_cancel)(zb_host_binding_t* host_binding, uint64_t cancel_id);

  /*
   * Posts a SIGNAL from any thread: the host copies payload and delivers it on the engine thread
   * through on_signal, in posting order. This is the only way another thread may re-enter a
   * binding. Returns ZB_OK, or ZB_ERR_CLOSED once the host is stopping.
   * Ownership: caller keeps payload. Lifetime: the call. Thread: any.
   */
  int32_t (*post)(zb_host_binding_t* host_binding, uint64_t stream_id, int32_t signal_id,
                  const uint8_t* payload, size_t payload_length);

  /* The host's monotonic clock in nanoseconds. Thread: any. */
  int64_t (*now_ns)(zb_host_binding_t* host_binding);

  /*
   * Registers a metric and returns its id (never 0). `labels` is a comma-separated list of
   * name="value" pairs, or NULL. Registering the same name and labels twice gives the same id.
   * Ownership: caller keeps the strings. Lifetime: the call. Thread: engine.
   */
  uint32_t (*metric_register)(zb_host_binding_t* host_binding, zb_metric_kind kind,
                              const char* name, const char* labels);

  /* Adds to a counter or gauge, or observes a histogram value. Thread: engine. */
  void (*metric_record)(zb_host_binding_t* host_binding, uint32_t metric_id, int64_t value);
} zb_host_api_t;

/* ------------------------------------------------------------------------------------------ */
/* Hooks the binding implements                                                               */
/* ------------------------------------------------------------------------------------------ */

/*
 * The binding's table of hooks, returned by its init function. Hooks marked optional may be
 * NULL. A hook never lets a C++ exception or a longjmp cross this boundary.
 *
 * Ownership: the binding (static storage in the .so). Lifetime: until on_unload returns.
 * Thread: every hook runs on the host's engine thread, except on_unload, which runs on the
 * host's control thread after the engine has stopped.
 */
typedef struct zb_binding_api_t {
  uint16_t abi_major;
  uint16_t abi_minor;
  uint32_t struct_size;

  /* The binding type this .so implements, e.g. "kafka-grpc".
   * Ownership: binding. Lifetime: until on_unload. */
  const char* type_name;

  /* The JSON Schema of this type's binding entry (type, kind, options, routes, ...), as JSON
   * text. The host validates each declared binding of this type against it before any
   * on_binding_new. Ownership: binding. Lifetime: until on_unload. */
  const char* config_schema_json;

  /*
   * Creates the state of one declared binding. Returns NULL to refuse, having written a reason
   * (NUL-terminated, truncated to error_capacity) into error.
   * Ownership: the returned handle belongs to the binding, which frees it in on_binding_destroy;
   * host_binding belongs to the host and stays valid until on_binding_destroy returns.
   * Thread: engine, before the engine starts routing frames.
   */
  zb_binding_t* (*on_binding_new)(zb_host_binding_t* host_binding,
                                  const zb_binding_config_t* config, char* error,
                                  size_t error_capacity);

  /* Optional. Called once every declared binding exists; a binding that initiates streams
   * (kafka-grpc opening its fetch streams) starts them here. Thread: engine. */
  void (*on_binding_start)(zb_binding_t* binding);

  /*
   * Optional. The host is stopping: stop initiating work, finish or abort what is in flight.
   * The host keeps routing frames and signals until every stream is released or its drain
   * timeout passes. Thread: engine.
   */
  void (*on_binding_stop)(zb_binding_t* binding);

  /* Frees the binding's state. No hook of this binding runs afterwards, except on_unload.
   * Thread: engine. */
  void (*on_binding_destroy)(zb_binding_t* binding);

  /*
   * A stream routed to this binding is opening: `begin` is its initial BEGIN. Return the
   * handle that will receive its frames, or NULL to refuse it (the caller of stream_begin gets
   * ZB_ERR_REFUSED). When a handle is returned, the same BEGIN is then delivered to it through
   * on_frame.
   * Ownership: the handle belongs to the binding. Lifetime: until on_stream_release.
   * Thread: engine.
   */
  zb_stream_t* (*on_stream_new)(zb_binding_t* binding, const zb_frame_t* begin);

  /*
   * A frame for a stream this binding is a side of: what the other side wrote on a direction
   * this binding reads, or WINDOW/RESET/CHALLENGE for a direction it writes.
   * Ownership: host. Lifetime: the call. Thread: engine.
   */
  void (*on_frame)(zb_binding_t* binding, zb_stream_t* stream, const zb_frame_t* frame);

  /*
   * Both directions of the stream are closed (END, ABORT or RESET on each), so no more frames
   * will be delivered to the handle; the binding may free it. Never called from inside another
   * hook of the same binding: the host defers it until the current hook has returned.
   * Thread: engine.
   */
  void (*on_stream_release)(zb_binding_t* binding, zb_stream_t* stream);

  /* Optional. A SIGNAL scheduled with signal_at or posted with post. Thread: engine. */
  void (*on_signal)(zb_binding_t* binding, const zb_frame_t* signal);

  /* Optional. The host is about to dlclose the .so. Thread: control. */
  void (*on_unload)(void);
} zb_binding_api_t;

/*
 * The init function each binding exports as ZB_BINDING_INIT_SYMBOL. Returns the binding's
 * hooks, or NULL to refuse loading, having written a reason (NUL-terminated, truncated to
 * error_capacity) into error. The binding may keep `host` until on_unload.
 * Ownership: host keeps host and error; the binding keeps the returned table.
 * Lifetime: the table lives until on_unload returns. Thread: control.
 */
typedef const zb_binding_api_t* (*zb_binding_init_fn)(const zb_host_api_t* host, char* error,
                                                      size_t error_capacity);

/* NOLINTEND */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ZB_ABI_H */
