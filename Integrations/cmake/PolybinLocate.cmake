# Finds the polybin executable for PolybinConfig.cmake and PolybinConfigVersion.cmake:
# -DPOLYBIN_EXECUTABLE=PATH wins; else the installed one (PREFIX/bin/polybin, this file being
# PREFIX/lib/cmake/Polybin/PolybinLocate.cmake); else a checkout's release build (this file
# being CHECKOUT/Integrations/cmake/PolybinLocate.cmake, found with -DPolybin_DIR=that directory);
# else polybin on PATH.
find_program(POLYBIN_EXECUTABLE polybin
    HINTS "${CMAKE_CURRENT_LIST_DIR}/../../../bin" "${CMAKE_CURRENT_LIST_DIR}/../../.build/release"
    DOC "The polybin executable")
