/* Which x86-64 level this translation unit was compiled for, from the compiler's macros. */
#ifndef LEVEL_H
#define LEVEL_H
const char *compiled_level(void);
#endif
