/* A binding built against an older minor, whose table ends before on_signal: the host accepts
 * it and must not read the hooks past its struct_size (here deliberately non-NULL garbage
 * follows in memory). */
#include "common.h"

#include <stddef.h>

ZB_EXPORT const zb_binding_api_t* zb_binding_init(const zb_host_api_t* host, char* error,
                                                  size_t error_capacity) {
  static zb_binding_api_t api;
  (void)host;
  (void)error;
  (void)error_capacity;
  test_fill(&api, "older-minor");
  api.struct_size = (uint32_t)offsetof(zb_binding_api_t, on_signal);
  api.on_unload = (void (*)(void))(uintptr_t)0x1; /* past struct_size: must never be called */
  return &api;
}
