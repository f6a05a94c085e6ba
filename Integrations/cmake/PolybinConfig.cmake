# find_package(Polybin): fatbins and embedded files for CMake projects (docs/fatbins.md, "CMake").
#
#   polybin_add_fatbin(TARGET [LEVELS level...] [OUTPUT file] [ZSTD_LEVEL n] [CMAKE_ARGS arg...])
#       Builds the executable TARGET once per level (default: every level of the target
#       architecture as `polybin levels` lists them, aarch64's when CMAKE_SYSTEM_PROCESSOR is
#       aarch64 or arm64, else x86-64's), each in a build tree of its own configured from this
#       project's source with -march=LEVEL appended to CMAKE_C_FLAGS and CMAKE_CXX_FLAGS, so the libraries TARGET
#       links are built at that level too; then packs the builds with `polybin build` into
#       OUTPUT (default ${CMAKE_CURRENT_BINARY_DIR}/fatbin/TARGET). The target TARGET_fatbin
#       (part of `all`) makes it. Each level tree gets this project's cache (the build type, compilers, linker
#       flags, toolchain file and prefix path) and CMAKE_ARGS. Options
#       (BOOL), paths (PATH, FILEPATH) and -D values the project never declared are forwarded;
#       STRING entries are not (projects compute them), so pass those in CMAKE_ARGS.
#
#   polybin_embed(TARGET NAME INPUT... [COMPRESS] [BASE dir] [LEVEL n] [INCLUDE_HIDDEN] [FOLLOW_SYMLINKS])
#       Embeds files and directories (relative to the current source directory) into TARGET as
#       the bundle NAME: links NAME.o and puts NAME.h on TARGET's include path. Depends on every
#       embedded file and directory (through polybin's depfile under Ninja, a check run on
#       every build otherwise): editing, adding or removing a file re-embeds and relinks, and
#       nothing else does. COMPRESS links zstd.
#
# polybin is found as PolybinLocate.cmake describes (-DPOLYBIN_EXECUTABLE=... to choose one);
# -DPOLYBIN_RUNNER=... passes a runner archive to `polybin build`.
if(CMAKE_VERSION VERSION_LESS 3.20)
    set(Polybin_FOUND FALSE)
    set(Polybin_NOT_FOUND_MESSAGE "Polybin needs CMake 3.20 or later (add_custom_command DEPFILE with Makefiles)")
    return()
endif()

# The package's own policies, whatever minimum the project declares (brotli's 2.8.6 leaves
# IN_LIST, CMP0057, unknown): the functions below record these, the ones in force where they
# are defined, and keep them when the project calls them.
cmake_policy(PUSH)
cmake_policy(VERSION 3.20)

include("${CMAKE_CURRENT_LIST_DIR}/PolybinLocate.cmake")
if(NOT POLYBIN_EXECUTABLE)
    set(Polybin_FOUND FALSE)
    set(Polybin_NOT_FOUND_MESSAGE "polybin not found: install it (tools/install), build it (tools/bootstrap), or pass -DPOLYBIN_EXECUTABLE=PATH")
    cmake_policy(POP)
    return()
endif()
set(POLYBIN_RUNNER "" CACHE FILEPATH "The runner archive polybin links fatbins with (empty: the one beside polybin)")
set(_polybin_dir "${CMAKE_CURRENT_LIST_DIR}")

# The levels of the architecture this project builds for, lowest first, from polybin's feature
# model (`polybin levels`): aarch64's when it cross-compiles for aarch64, else x86-64's.
function(_polybin_known_levels out)
    if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
        set(arch aarch64)
    else()
        set(arch x86-64)
    endif()
    execute_process(COMMAND "${POLYBIN_EXECUTABLE}" levels --arch ${arch}
        OUTPUT_VARIABLE levels ERROR_VARIABLE error RESULT_VARIABLE result OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT result EQUAL 0 OR levels STREQUAL "")
        message(FATAL_ERROR "Polybin: ${POLYBIN_EXECUTABLE} levels --arch ${arch} failed (${result}): ${error}")
    endif()
    string(REPLACE "\n" ";" levels "${levels}")
    set(${out} ${levels} PARENT_SCOPE)
endfunction()

function(polybin_add_fatbin target)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT;ZSTD_LEVEL" "LEVELS;CMAKE_ARGS")
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "polybin_add_fatbin(${target}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT TARGET ${target})
        message(FATAL_ERROR "polybin_add_fatbin(${target}): no such target; call it after add_executable(${target} ...)")
    endif()
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "EXECUTABLE")
        message(FATAL_ERROR "polybin_add_fatbin(${target}): ${target} is a ${type}, not an executable")
    endif()
    # Inside a level's own build tree: say where the target's executable is, and stop there.
    if(DEFINED POLYBIN_LEVEL_BUILD)
        file(GENERATE OUTPUT "${POLYBIN_LEVEL_PATHS}/${target}-$<CONFIG>.path" CONTENT "$<TARGET_FILE:${target}>")
        return()
    endif()

    _polybin_known_levels(known_levels)
    set(levels ${arg_LEVELS})
    if(NOT levels)
        set(levels ${known_levels})
    endif()
    foreach(level IN LISTS levels)
        if(NOT level IN_LIST known_levels)
            message(FATAL_ERROR "polybin_add_fatbin(${target}): unknown level ${level} (use ${known_levels})")
        endif()
    endforeach()
    set(output "${arg_OUTPUT}")
    if(NOT output)
        set(output "${CMAKE_CURRENT_BINARY_DIR}/fatbin/${target}")
    endif()
    get_filename_component(output "${output}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
    set(zstd_level "${arg_ZSTD_LEVEL}")
    if(zstd_level STREQUAL "")
        set(zstd_level 19)
    endif()

    # The cache every level tree starts from: this project's options, then the level's flags.
    set(forwarded CMAKE_BUILD_TYPE CMAKE_CONFIGURATION_TYPES CMAKE_C_COMPILER CMAKE_CXX_COMPILER
        CMAKE_EXE_LINKER_FLAGS CMAKE_TOOLCHAIN_FILE CMAKE_PREFIX_PATH CMAKE_MAKE_PROGRAM Polybin_DIR POLYBIN_EXECUTABLE)
    get_cmake_property(cached CACHE_VARIABLES)
    foreach(name IN LISTS cached)
        get_property(kind CACHE "${name}" PROPERTY TYPE)
        if(kind MATCHES "^(BOOL|PATH|FILEPATH|UNINITIALIZED)$" AND NOT name MATCHES "^(CMAKE_|_|FETCHCONTENT_|POLYBIN_LEVEL_)")
            list(APPEND forwarded "${name}")
        endif()
    endforeach()
    list(REMOVE_DUPLICATES forwarded)
    set(common "")
    foreach(name IN LISTS forwarded)
        # Entries the project declared as normal variables too show up empty: leave them out.
        if(DEFINED CACHE{${name}} AND NOT "$CACHE{${name}}" STREQUAL "")
            get_property(kind CACHE "${name}" PROPERTY TYPE)
            if(kind STREQUAL "UNINITIALIZED" OR kind STREQUAL "INTERNAL" OR kind STREQUAL "STATIC")
                set(kind STRING)
            endif()
            string(APPEND common "set(${name} [==[$CACHE{${name}}]==] CACHE ${kind} \"\" FORCE)\n")
        endif()
    endforeach()

    set(flavors "")
    set(builds "")
    set(steps "")
    set(base "${CMAKE_CURRENT_BINARY_DIR}/polybin-${target}")
    foreach(level IN LISTS levels)
        set(tree "${base}/${level}")
        set(init "${base}/${level}.init.cmake")
        set(exe "${base}/${level}.exe/${target}")
        set(text "${common}")
        string(APPEND text "set(CMAKE_C_FLAGS [==[${CMAKE_C_FLAGS} -march=${level}]==] CACHE STRING \"\" FORCE)\n")
        string(APPEND text "set(CMAKE_CXX_FLAGS [==[${CMAKE_CXX_FLAGS} -march=${level}]==] CACHE STRING \"\" FORCE)\n")
        string(APPEND text "set(POLYBIN_LEVEL_BUILD ${level} CACHE INTERNAL \"\")\n")
        string(APPEND text "set(POLYBIN_LEVEL_PATHS [==[${base}/${level}.paths]==] CACHE INTERNAL \"\")\n")
        # Rewritten only when it changes, so that an unchanged cache never reconfigures the tree.
        file(WRITE "${init}.new" "${text}")
        configure_file("${init}.new" "${init}" COPYONLY)
        file(REMOVE "${init}.new")

        set(generator_args -G "${CMAKE_GENERATOR}")
        if(CMAKE_GENERATOR_PLATFORM)
            list(APPEND generator_args -A "${CMAKE_GENERATOR_PLATFORM}")
        endif()
        if(CMAKE_GENERATOR_TOOLSET)
            list(APPEND generator_args -T "${CMAKE_GENERATOR_TOOLSET}")
        endif()
        add_custom_command(OUTPUT "${base}/${level}.configured"
            COMMAND "${CMAKE_COMMAND}" ${generator_args} -C "${init}" ${arg_CMAKE_ARGS} -S "${CMAKE_SOURCE_DIR}" -B "${tree}"
            COMMAND "${CMAKE_COMMAND}" -E touch "${base}/${level}.configured"
            DEPENDS "${init}"
            COMMENT "Configuring ${target} at ${level}"
            VERBATIM)
        set(level_build "${CMAKE_COMMAND}" "-DTREE=${tree}" "-DTARGET=${target}" "-DCONFIG=$<CONFIG>"
            "-DPATHS=${base}/${level}.paths" "-DOUT=${exe}")
        if(CMAKE_GENERATOR MATCHES "^Ninja$")
            # Under Ninja the level runs only when a file its build read changed: after each
            # build the script writes, for Ninja itself (CMP0116 OLD, the stamp named as
            # build.ninja names it), every input the level tree's Ninja knows of, so that
            # `ninja -n` on an unchanged tree has nothing to do. The executable is copied only
            # when its bytes change (a byproduct: restat), so an unchanged level repacks nothing.
            file(RELATIVE_PATH stamp "${CMAKE_BINARY_DIR}" "${base}/${level}.built")
            cmake_policy(PUSH)
            cmake_policy(SET CMP0116 OLD)
            add_custom_command(OUTPUT "${base}/${level}.built"
                COMMAND ${level_build} "-DNINJA=${CMAKE_MAKE_PROGRAM}" "-DDEPFILE=${base}/${level}.d"
                    "-DSTAMP=${base}/${level}.built" "-DSTAMP_NAME=${stamp}" -P "${_polybin_dir}/PolybinLevelBuild.cmake"
                BYPRODUCTS "${exe}"
                DEPENDS "${base}/${level}.configured"
                DEPFILE "${base}/${level}.d"
                COMMENT "Building ${target} at ${level}"
                VERBATIM)
            cmake_policy(POP)
            # The pack depends on the executable only: the stamp changes on every level run.
            add_custom_target(${target}_polybin_${level} DEPENDS "${base}/${level}.built")
        else()
            # Always runs: the level tree's own build tool decides what is stale. The
            # executable is copied only when its bytes change, so an unchanged level repacks nothing.
            add_custom_target(${target}_polybin_${level}
                COMMAND ${level_build} -P "${_polybin_dir}/PolybinLevelBuild.cmake"
                BYPRODUCTS "${exe}"
                DEPENDS "${base}/${level}.configured"
                COMMENT "Building ${target} at ${level}"
                VERBATIM)
            list(APPEND steps ${target}_polybin_${level})
        endif()
        list(APPEND flavors --flavor "${level}=${exe}")
        list(APPEND builds "${exe}")
    endforeach()

    set(runner "")
    if(POLYBIN_RUNNER)
        set(runner --runner "${POLYBIN_RUNNER}")
    endif()
    get_filename_component(output_dir "${output}" DIRECTORY)
    file(MAKE_DIRECTORY "${output_dir}")
    add_custom_command(OUTPUT "${output}"
        COMMAND "${POLYBIN_EXECUTABLE}" build -o "${output}" --level ${zstd_level} ${runner} ${flavors}
        DEPENDS ${builds} ${steps} "${POLYBIN_EXECUTABLE}"
        COMMENT "Packing the fatbin ${output}"
        VERBATIM)
    add_custom_target(${target}_fatbin ALL DEPENDS "${output}")
endfunction()

function(polybin_embed target name)
    cmake_parse_arguments(PARSE_ARGV 2 arg "COMPRESS;INCLUDE_HIDDEN;FOLLOW_SYMLINKS" "BASE;LEVEL" "")
    if(NOT TARGET ${target})
        message(FATAL_ERROR "polybin_embed(${target} ${name}): no such target")
    endif()
    if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
        message(FATAL_ERROR "polybin_embed(${target} ${name}): the name must be a C identifier")
    endif()
    set(inputs "")
    foreach(input IN LISTS arg_UNPARSED_ARGUMENTS)
        get_filename_component(input "${input}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
        list(APPEND inputs "${input}")
    endforeach()
    if(NOT inputs)
        message(FATAL_ERROR "polybin_embed(${target} ${name}): name at least one file or directory to embed")
    endif()
    set(options "")
    if(arg_COMPRESS)
        list(APPEND options --compress)
        if(arg_LEVEL)
            list(APPEND options --level ${arg_LEVEL})
        endif()
    endif()
    if(arg_BASE)
        get_filename_component(base "${arg_BASE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
        list(APPEND options --base "${base}")
    endif()
    if(arg_INCLUDE_HIDDEN)
        list(APPEND options --include-hidden)
    endif()
    if(arg_FOLLOW_SYMLINKS)
        list(APPEND options --follow-symlinks)
    endif()
    set(cc "${CMAKE_C_COMPILER}")
    if(NOT cc)
        set(cc cc)
    endif()

    set(dir "${CMAKE_CURRENT_BINARY_DIR}/polybin-embed/${target}")
    set(object "${dir}/${name}.o")
    set(header "${dir}/${name}.h")
    file(MAKE_DIRECTORY "${dir}")
    # What re-embeds (README.md, `--depfile-format`). Under Ninja, Ninja reads polybin's
    # depfile itself (CMP0116 OLD: CMake's rewrite of it loses the escapes of `$` and `#`), and
    # it must name the output as build.ninja does, relative to the top of the build tree.
    # Other generators get PolybinEmbedCheck.cmake, run on every build, instead of a depfile.
    set(command "${POLYBIN_EXECUTABLE}" embed --name ${name} --header "${header}" --cc "${cc}" ${options} ${inputs})
    if(CMAKE_GENERATOR MATCHES "^Ninja$")
        file(RELATIVE_PATH output "${CMAKE_BINARY_DIR}" "${object}")
        cmake_policy(PUSH)
        cmake_policy(SET CMP0116 OLD)
        add_custom_command(OUTPUT "${object}" "${header}"
            COMMAND ${command} -o "${output}" --depfile "${dir}/${name}.d" --depfile-format ninja
            DEPENDS ${inputs} "${POLYBIN_EXECUTABLE}"
            DEPFILE "${dir}/${name}.d"
            WORKING_DIRECTORY "${CMAKE_BINARY_DIR}"
            COMMENT "Embedding ${name} into ${target}"
            VERBATIM)
        cmake_policy(POP)
    else()
        set(stamp "${dir}/${name}.inputs-changed")
        set(follow "")
        if(arg_FOLLOW_SYMLINKS)
            set(follow -L)
        endif()
        add_custom_target(${target}_polybin_${name}_check
            COMMAND "${CMAKE_COMMAND}" "-DOBJECT=${object}" "-DSTAMP=${stamp}" "-DINPUTS=${inputs}" "-DFOLLOW=${follow}"
                -P "${_polybin_dir}/PolybinEmbedCheck.cmake"
            BYPRODUCTS "${stamp}"
            VERBATIM)
        add_dependencies(${target} ${target}_polybin_${name}_check)
        add_custom_command(OUTPUT "${object}" "${header}"
            COMMAND ${command} -o "${object}"
            DEPENDS ${inputs} "${POLYBIN_EXECUTABLE}" "${stamp}"
            COMMENT "Embedding ${name} into ${target}"
            VERBATIM)
    endif()
    # A .o among a target's sources is linked as an object; the header orders the compiles.
    target_sources(${target} PRIVATE "${object}" "${header}")
    target_include_directories(${target} PRIVATE "${dir}")
    if(arg_COMPRESS)
        find_library(POLYBIN_ZSTD_LIBRARY zstd)
        if(NOT POLYBIN_ZSTD_LIBRARY)
            message(FATAL_ERROR "polybin_embed(${target} ${name} COMPRESS): libzstd not found (apt-get install libzstd-dev)")
        endif()
        target_link_libraries(${target} PRIVATE "${POLYBIN_ZSTD_LIBRARY}")
    endif()
endfunction()

cmake_policy(POP)
