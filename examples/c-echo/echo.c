/*
 * A binding in plain C, against zb/abi.h alone: `type: echo`, `kind: server`.
 *
 * Every stream routed to it is answered: the reply direction echoes each DATA of the initial
 * direction, END answers END, ABORT answers ABORT. A DATA whose payload is exactly "reset" is
 * refused: the binding RESETs the initial direction and ABORTs its reply.
 *
 * Flow control, both ways: the binding grants the writer ECHO_WINDOW bytes and acknowledges a
 * DATA only once it has echoed it; it echoes only within the credit its reader granted, holding
 * at most one window of bytes meanwhile. docs/abi.md walks through this file.
 */
#include <zb/abi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_WINDOW 8192

typedef struct echo_binding {
  zb_host_binding_t* host_binding;
  uint64_t id;
} echo_binding;

typedef struct echo_stream {
  uint64_t origin_id;
  uint64_t routed_id;
  uint64_t initial_id;
  /* initial direction (we read): what the writer sent, what we acknowledged */
  int64_t initial_seq;
  int64_t initial_ack;
  /* reply direction (we write): our position and the reader's credit */
  int64_t reply_seq;
  int64_t reply_ack;
  int32_t reply_max;
  int32_t reply_pad;
  /* bytes received but not yet echoed, with their flags, in arrival order */
  uint8_t pending[ECHO_WINDOW];
  size_t pending_length;
  uint8_t pending_flags;
  int pending_null; /* the pending DATA had a null payload */
  int has_pending;
  int end_pending; /* END arrived while bytes were still pending */
  int reply_closed;
  int initial_closed;
} echo_stream;

static const zb_host_api_t* host_api;

static const char echo_schema[] =
    "{\"type\":\"object\",\"required\":[\"type\",\"kind\"],"
    "\"properties\":{\"type\":{\"const\":\"echo\"},\"kind\":{\"enum\":[\"server\"]}}}";

static zb_frame_t echo_frame(const echo_stream* stream, zb_frame_type type, uint64_t stream_id) {
  zb_frame_t frame;
  memset(&frame, 0, sizeof frame);
  frame.struct_size = sizeof frame;
  frame.type = (uint32_t)type;
  frame.origin_id = stream->origin_id;
  frame.routed_id = stream->routed_id;
  frame.stream_id = stream_id;
  return frame;
}

/* Grants the writer of the initial direction credit up to what has been echoed. */
static void echo_window(echo_binding* binding, echo_stream* stream) {
  zb_frame_t frame = echo_frame(stream, ZB_FRAME_WINDOW, stream->initial_id);
  frame.sequence = stream->initial_seq;
  frame.acknowledge = stream->initial_ack;
  frame.maximum = ECHO_WINDOW;
  host_api->stream_send(binding->host_binding, &frame);
}

static void echo_reply_end(echo_binding* binding, echo_stream* stream, zb_frame_type type) {
  if (!stream->reply_closed) {
    zb_frame_t frame = echo_frame(stream, type, ZB_STREAM_REPLY_ID(stream->initial_id));
    frame.sequence = stream->reply_seq;
    frame.acknowledge = stream->reply_ack;
    frame.maximum = stream->reply_max;
    stream->reply_closed = 1;
    host_api->stream_send(binding->host_binding, &frame);
  }
}

/* Echoes the pending DATA if the reader's credit allows; returns whether it went out. */
static int echo_flush(echo_binding* binding, echo_stream* stream) {
  if (!stream->has_pending) {
    return 1;
  }
  const int32_t reserved = (int32_t)stream->pending_length + stream->reply_pad;
  if (stream->reply_seq + reserved > stream->reply_ack + stream->reply_max) {
    return 0;
  }
  zb_frame_t frame = echo_frame(stream, ZB_FRAME_DATA, ZB_STREAM_REPLY_ID(stream->initial_id));
  frame.sequence = stream->reply_seq;
  frame.acknowledge = stream->reply_ack;
  frame.maximum = stream->reply_max;
  frame.flags = stream->pending_flags;
  frame.reserved = reserved;
  frame.payload = stream->pending_null ? NULL : stream->pending;
  frame.payload_length = stream->pending_length;
  stream->reply_seq += reserved;
  stream->has_pending = 0;
  host_api->stream_send(binding->host_binding, &frame);

  stream->initial_ack = stream->initial_seq;
  echo_window(binding, stream);
  if (stream->end_pending) {
    echo_reply_end(binding, stream, ZB_FRAME_END);
  }
  return 1;
}

static void echo_on_data(echo_binding* binding, echo_stream* stream, const zb_frame_t* frame) {
  stream->initial_seq = frame->sequence + frame->reserved;
  if (frame->payload != NULL && frame->payload_length == 5 &&
      memcmp(frame->payload, "reset", 5) == 0) {
    zb_frame_t reset = echo_frame(stream, ZB_FRAME_RESET, stream->initial_id);
    stream->initial_closed = 1;
    host_api->stream_send(binding->host_binding, &reset);
    echo_reply_end(binding, stream, ZB_FRAME_ABORT);
    return;
  }
  if (stream->has_pending || frame->payload_length > sizeof stream->pending) {
    /* The writer overran the one window we granted: a protocol error. */
    zb_frame_t reset = echo_frame(stream, ZB_FRAME_RESET, stream->initial_id);
    stream->initial_closed = 1;
    host_api->stream_send(binding->host_binding, &reset);
    echo_reply_end(binding, stream, ZB_FRAME_ABORT);
    return;
  }
  if (frame->payload != NULL) {
    memcpy(stream->pending, frame->payload, frame->payload_length);
  }
  stream->pending_length = frame->payload_length;
  stream->pending_null = frame->payload == NULL;
  stream->pending_flags = frame->flags;
  stream->has_pending = 1;
  echo_flush(binding, stream);
}

/* ---- hooks ---- */

static zb_binding_t* echo_binding_new(zb_host_binding_t* host_binding,
                                      const zb_binding_config_t* config, char* error,
                                      size_t error_capacity) {
  if (strcmp(config->kind, "server") != 0) {
    snprintf(error, error_capacity, "kind %s is not supported; echo has kind server", config->kind);
    return NULL;
  }
  echo_binding* binding = calloc(1, sizeof *binding);
  if (binding == NULL) {
    snprintf(error, error_capacity, "out of memory");
    return NULL;
  }
  binding->host_binding = host_binding;
  binding->id = config->id;
  return (zb_binding_t*)binding;
}

static void echo_binding_destroy(zb_binding_t* binding) { free(binding); }

static zb_stream_t* echo_stream_new(zb_binding_t* binding, const zb_frame_t* begin) {
  (void)binding;
  echo_stream* stream = calloc(1, sizeof *stream);
  if (stream == NULL) {
    return NULL; /* refused */
  }
  stream->origin_id = begin->origin_id;
  stream->routed_id = begin->routed_id;
  stream->initial_id = begin->stream_id;
  return (zb_stream_t*)stream;
}

static void echo_on_frame(zb_binding_t* self, zb_stream_t* handle, const zb_frame_t* frame) {
  echo_binding* binding = (echo_binding*)self;
  echo_stream* stream = (echo_stream*)handle;
  const int initial = ZB_STREAM_IS_INITIAL(frame->stream_id);
  switch (frame->type) {
    case ZB_FRAME_BEGIN: {
      zb_frame_t reply = echo_frame(stream, ZB_FRAME_BEGIN, ZB_STREAM_REPLY_ID(stream->initial_id));
      host_api->stream_send(binding->host_binding, &reply);
      echo_window(binding, stream);
      break;
    }
    case ZB_FRAME_DATA:
      echo_on_data(binding, stream, frame);
      break;
    case ZB_FRAME_END:
      stream->initial_closed = 1;
      if (stream->has_pending) {
        stream->end_pending = 1;
      } else {
        echo_reply_end(binding, stream, ZB_FRAME_END);
      }
      break;
    case ZB_FRAME_ABORT:
      stream->initial_closed = 1;
      echo_reply_end(binding, stream, ZB_FRAME_ABORT);
      break;
    case ZB_FRAME_WINDOW:
      if (!initial) {
        if (frame->acknowledge > stream->reply_ack) {
          stream->reply_ack = frame->acknowledge;
        }
        stream->reply_max = frame->maximum;
        stream->reply_pad = frame->padding;
        echo_flush(binding, stream);
      }
      break;
    case ZB_FRAME_RESET:
      /* The reader refuses our reply: stop reading too. */
      stream->reply_closed = 1;
      if (!stream->initial_closed) {
        zb_frame_t reset = echo_frame(stream, ZB_FRAME_RESET, stream->initial_id);
        stream->initial_closed = 1;
        host_api->stream_send(binding->host_binding, &reset);
      }
      break;
    default:
      break;
  }
}

static void echo_stream_release(zb_binding_t* binding, zb_stream_t* stream) {
  (void)binding;
  free(stream);
}

__attribute__((visibility("default"))) const zb_binding_api_t* zb_binding_init(
    const zb_host_api_t* host, char* error, size_t error_capacity) {
  static zb_binding_api_t api;
  if (host == NULL || host->abi_major != ZB_ABI_MAJOR) {
    snprintf(error, error_capacity, "echo needs host ABI major %d", ZB_ABI_MAJOR);
    return NULL;
  }
  host_api = host;
  memset(&api, 0, sizeof api);
  api.abi_major = ZB_ABI_MAJOR;
  api.abi_minor = ZB_ABI_MINOR;
  api.struct_size = sizeof api;
  api.type_name = "echo";
  api.config_schema_json = echo_schema;
  api.on_binding_new = echo_binding_new;
  api.on_binding_destroy = echo_binding_destroy;
  api.on_stream_new = echo_stream_new;
  api.on_frame = echo_on_frame;
  api.on_stream_release = echo_stream_release;
  return &api;
}
