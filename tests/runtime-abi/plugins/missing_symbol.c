/* A shared object that is not a binding: it exports no zb_binding_init. */
#include "common.h"

ZB_EXPORT int zb_binding_init_misspelled(void) { return 0; }
