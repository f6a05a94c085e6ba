/* The module's API is the one the plugin generates for the bundle named in polybin-embed.json. */
#include "site.h"
