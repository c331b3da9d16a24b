/* A binding whose table lacks the required on_frame hook. */
#include "common.h"

ZB_EXPORT const zb_binding_api_t* zb_binding_init(const zb_host_api_t* host, char* error,
                                                  size_t error_capacity) {
  static zb_binding_api_t api;
  (void)host;
  (void)error;
  (void)error_capacity;
  test_fill(&api, "missing-hook");
  api.on_frame = NULL;
  return &api;
}
