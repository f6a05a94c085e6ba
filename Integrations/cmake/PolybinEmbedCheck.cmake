# polybin_embed's staleness check under generators other than Ninja. CMake's Makefiles
# generator gets no depfile: it keeps every name a DEPFILE ever listed (3.20 to 3.25 at least,
# so a deleted file re-embeds on every build) and writes `:`, `;`, `%` and the like into its
# makefiles unescaped. This runs on every build instead: when OBJECT is missing, or a file or
# directory under INPUTS is newer than it (find: any name; adding or removing a file changes
# its directory), it touches STAMP, on which the embedding depends; otherwise it leaves STAMP
# alone and nothing is embedded or linked again.
cmake_policy(VERSION 3.20)
set(stale TRUE)
if(EXISTS "${OBJECT}" AND EXISTS "${STAMP}")
    execute_process(COMMAND find ${FOLLOW} ${INPUTS} -newer "${OBJECT}" -print -quit
        OUTPUT_VARIABLE newer RESULT_VARIABLE status ERROR_QUIET)
    # A missing input fails find: embedding again lets polybin name it.
    if(status EQUAL 0 AND newer STREQUAL "")
        set(stale FALSE)
    endif()
endif()
if(stale)
    file(TOUCH "${STAMP}")
endif()
