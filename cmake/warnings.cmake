# aisle_set_warnings(target): our own targets only; third-party headers stay quiet. Also the
# sanitizer of an AISLE_SANITIZE build (every one of our targets, so the whole program is).
function(aisle_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(AISLE_SANITIZE STREQUAL "thread")
    target_compile_options(${target} PRIVATE -fsanitize=thread)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  elseif(AISLE_SANITIZE STREQUAL "address" OR AISLE_SANITIZE STREQUAL "ON")
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(AISLE_SANITIZE AND NOT AISLE_SANITIZE STREQUAL "OFF")
    message(FATAL_ERROR "AISLE_SANITIZE=${AISLE_SANITIZE}: expecting address or thread")
  endif()
endfunction()
