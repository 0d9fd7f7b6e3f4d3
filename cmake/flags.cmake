# Compiler flags live on INTERFACE targets that every stoa target links; CMAKE_CXX_FLAGS is never rewritten.
add_library(stoa_flags INTERFACE)
target_compile_options(stoa_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wformat=2
  $<$<BOOL:${STOA_WERROR}>:-Werror>)
target_include_directories(stoa_flags INTERFACE ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(stoa_flags INTERFACE STOA_VERSION="${PROJECT_VERSION}")

if(STOA_SANITIZE)
  target_compile_options(stoa_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(stoa_flags INTERFACE -fsanitize=address,undefined)
endif()
