// CPrefetch is header-only (static inline functions); this file gives the target a source to build.
#include "cprefetch.h"
