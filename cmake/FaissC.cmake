# Provides FAISS's C API: the target ctxmem_faiss_c (include paths and link
# libraries) and CTXMEM_FAISS_C_OBJECTS (objects to put into libctxmem, empty
# when a system libfaiss_c is used).
#
# Order of preference:
#  1. a system libfaiss_c (conda and source builds of FAISS install one);
#  2. the C API's own .cpp files compiled here, from CTXMEM_FAISS_SOURCE_DIR when
#     given, else from the Debian source package of the installed FAISS version,
#     fetched into the build tree with `apt-get source` (needs a deb-src line;
#     scripts/setup adds one). Nothing of FAISS's source is kept in the repo.

set(CTXMEM_FAISS_SOURCE_DIR "" CACHE PATH "FAISS source tree whose c_api/ is compiled")

find_package(OpenMP REQUIRED)  # Debian's faiss config needs OpenMP::OpenMP_CXX first
find_package(faiss REQUIRED)

find_library(CTXMEM_SYSTEM_FAISS_C NAMES faiss_c)
find_path(CTXMEM_FAISS_C_INCLUDE NAMES faiss/c_api/faiss_c.h)

if(CTXMEM_SYSTEM_FAISS_C)
    message(STATUS "FAISS C API: system library ${CTXMEM_SYSTEM_FAISS_C}")
    add_library(ctxmem_faiss_c INTERFACE)
    target_link_libraries(ctxmem_faiss_c INTERFACE ${CTXMEM_SYSTEM_FAISS_C} faiss)
    target_include_directories(ctxmem_faiss_c INTERFACE ${CTXMEM_FAISS_C_INCLUDE})
    set(CTXMEM_FAISS_C_OBJECTS "")
else()
    set(src "${CTXMEM_FAISS_SOURCE_DIR}")
    if(NOT src)
        execute_process(COMMAND dpkg-query -W -f=\${source:Version} libfaiss-dev
                        OUTPUT_VARIABLE faiss_deb_version RESULT_VARIABLE rc
                        OUTPUT_STRIP_TRAILING_WHITESPACE)
        if(NOT rc EQUAL 0 OR NOT faiss_deb_version)
            message(FATAL_ERROR "No libfaiss_c and libfaiss-dev is not installed; "
                                "run scripts/setup or set CTXMEM_FAISS_SOURCE_DIR")
        endif()
        set(fetch_dir "${CMAKE_BINARY_DIR}/_deps/faiss-src")
        string(REGEX REPLACE "-[^-]*$" "" faiss_upstream "${faiss_deb_version}")
        set(src "${fetch_dir}/faiss-${faiss_upstream}")
        if(NOT EXISTS "${src}/c_api/index_factory_c.cpp")
            message(STATUS "FAISS C API: fetching Debian source faiss=${faiss_deb_version}")
            file(MAKE_DIRECTORY "${fetch_dir}")
            execute_process(COMMAND apt-get source -qq "faiss=${faiss_deb_version}"
                            WORKING_DIRECTORY "${fetch_dir}" RESULT_VARIABLE rc
                            OUTPUT_QUIET ERROR_VARIABLE err)
            if(NOT rc EQUAL 0 OR NOT EXISTS "${src}/c_api/index_factory_c.cpp")
                message(FATAL_ERROR "apt-get source faiss=${faiss_deb_version} failed: ${err}\n"
                                    "Add a deb-src line (scripts/setup does) or set "
                                    "CTXMEM_FAISS_SOURCE_DIR.")
            endif()
        endif()
    endif()
    message(STATUS "FAISS C API: compiling ${src}/c_api")
    file(GLOB faiss_c_sources "${src}/c_api/*.cpp" "${src}/c_api/impl/*.cpp"
                              "${src}/c_api/utils/*.cpp")
    # An object library: its objects go into libctxmem itself, so that users of
    # the installed library need no libfaiss_c.
    add_library(ctxmem_faiss_c OBJECT ${faiss_c_sources})
    set_target_properties(ctxmem_faiss_c PROPERTIES POSITION_INDEPENDENT_CODE ON
                          CXX_STANDARD 11 CXX_VISIBILITY_PRESET hidden)
    # Without NDEBUG every failing C API call also prints to stderr.
    target_compile_definitions(ctxmem_faiss_c PRIVATE NDEBUG)
    target_compile_options(ctxmem_faiss_c PRIVATE -w)
    # The C API's own headers are compiled against the installed faiss headers.
    target_include_directories(ctxmem_faiss_c PRIVATE "${src}")
    target_include_directories(ctxmem_faiss_c INTERFACE ${CTXMEM_FAISS_C_INCLUDE})
    target_link_libraries(ctxmem_faiss_c PUBLIC faiss OpenMP::OpenMP_CXX)
    set(CTXMEM_FAISS_C_OBJECTS $<TARGET_OBJECTS:ctxmem_faiss_c>)
endif()
