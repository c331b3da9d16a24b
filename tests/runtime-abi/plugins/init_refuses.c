/* A binding whose init refuses to load, with a reason the host must report. */
#include "common.h"

ZB_EXPORT const zb_binding_api_t* zb_binding_init(const zb_host_api_t* host, char* error,
                                                  size_t error_capacity) {
  (void)host;
  test_error(error, error_capacity, "license file /etc/zb/license not found");
  return NULL;
}
