# aisle_set_warnings(target): our own targets only; third-party headers stay quiet. Also the
# sanitizer of an AISLE_SANITIZE build (every one of our targets, so the whole program is).
function(aisle_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(AISLE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(AISLE_FUZZ)
    # Every library the fuzz targets link is instrumented for coverage and checked.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  string(TOUPPER "${AISLE_SANITIZE}" _san)
  if(AISLE_SANITIZE STREQUAL "thread")
    target_compile_options(${target} PRIVATE -fsanitize=thread)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  elseif(AISLE_SANITIZE STREQUAL "address" OR _san MATCHES "^(ON|TRUE|YES|Y|1)$")
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(NOT _san MATCHES "^(|OFF|FALSE|NO|N|0)$")
    message(FATAL_ERROR "AISLE_SANITIZE=${AISLE_SANITIZE}: expecting address or thread")
  endif()
endfunction()
