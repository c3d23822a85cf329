# Compiles every C file of the harness with a Release build's optimisation
# (-O3 -DNDEBUG, as CMake's Release) and -Werror, without linking.
# Usage: cmake -DCC=<compiler> -DINCLUDE=<include dir> -DOUT=<dir> -P release_check.cmake
file(GLOB sources ${CMAKE_CURRENT_LIST_DIR}/*.c)
file(MAKE_DIRECTORY ${OUT})
foreach(source ${sources})
  get_filename_component(name ${source} NAME_WE)
  execute_process(
    COMMAND ${CC} -std=c99 -O3 -DNDEBUG -DCHARTER_TEST_HOOKS -D_POSIX_C_SOURCE=200809L
            "-DCHARTER_VECTORS_DIR=\"unused\"" -Wall -Wextra -Werror -pedantic
            -I${INCLUDE} -c ${source} -o ${OUT}/${name}.o
    RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${name}.c does not compile at -O3 -Werror")
  endif()
  message(STATUS "ok - ${name}.c at -O3 -Werror")
endforeach()
