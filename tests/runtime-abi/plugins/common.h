/* Shared pieces of the loader's failure-mode test plugins: a table whose hooks do nothing. */
#ifndef ZB_TEST_PLUGIN_COMMON_H
#define ZB_TEST_PLUGIN_COMMON_H

#include <zb/abi.h>

#include <string.h>

#define ZB_EXPORT __attribute__((visibility("default")))

static inline zb_binding_t* test_binding_new(zb_host_binding_t* host_binding,
                                             const zb_binding_config_t* config, char* error,
                                             size_t error_capacity) {
  (void)config;
  (void)error;
  (void)error_capacity;
  return (zb_binding_t*)host_binding;
}
static inline void test_binding_destroy(zb_binding_t* binding) { (void)binding; }
static inline zb_stream_t* test_stream_new(zb_binding_t* binding, const zb_frame_t* begin) {
  (void)binding;
  (void)begin;
  return NULL;
}
static inline void test_frame(zb_binding_t* binding, zb_stream_t* stream, const zb_frame_t* frame) {
  (void)binding;
  (void)stream;
  (void)frame;
}
static inline void test_stream_release(zb_binding_t* binding, zb_stream_t* stream) {
  (void)binding;
  (void)stream;
}
static inline void test_unload(void) {}

static inline void test_fill(zb_binding_api_t* api, const char* type_name) {
  memset(api, 0, sizeof *api);
  api->abi_major = ZB_ABI_MAJOR;
  api->abi_minor = ZB_ABI_MINOR;
  api->struct_size = sizeof *api;
  api->type_name = type_name;
  api->config_schema_json = "{}";
  api->on_binding_new = test_binding_new;
  api->on_binding_destroy = test_binding_destroy;
  api->on_stream_new = test_stream_new;
  api->on_frame = test_frame;
  api->on_stream_release = test_stream_release;
  api->on_unload = test_unload;
}

static inline void test_error(char* error, size_t capacity, const char* text) {
  if (capacity > 0) {
    strncpy(error, text, capacity - 1);
    error[capacity - 1] = '\0';
  }
}

#endif
