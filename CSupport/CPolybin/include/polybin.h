/* CPolybin: the C layer shared by the polybin tool, the runner and generated code. */
#ifndef POLYBIN_H
#define POLYBIN_H
#include "pb_sha256.h"
#include "pb_features.h"
#include "pb_cpu.h"
#include "pb_exec_order.h"
#include "pb_bundle.h"
#include "pb_elf.h"
#include "pb_dir.h"
#include "pb_names.h"
#include "pb_exit_codes.h"
#include "pb_codec.h"
#include "pb_launch.h"
#include "pb_system.h"
#include "pb_payload.h"
#endif
