# Install rules, man pages, bash completion and the Debian package (issue 9).
#
#   cmake --install build --prefix P    P/bin, P/share/man/man1,
#                                       P/share/doc/healthcheck-conformance,
#                                       P/share/bash-completion/completions
#   cd build && cpack -G DEB            healthcheck-conformance_<version>_<arch>.deb
#
# The man pages and completions are generated from the built programs'
# own --help by cmake/help2doc.py, so they cannot drift from the flags.

include(GNUInstallDirs)

set(HC_PACKAGE_NAME healthcheck-conformance)
set(HC_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/${HC_PACKAGE_NAME})
set(HC_COMPLETIONDIR ${CMAKE_INSTALL_DATAROOTDIR}/bash-completion/completions)
set(HC_PROGRAMS mock-executor health-conformance)

find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(hc_gen_dir ${PROJECT_BINARY_DIR}/doc-gen)
file(MAKE_DIRECTORY ${hc_gen_dir}/man1 ${hc_gen_dir}/completions)

set(hc_generated)
foreach(prog ${HC_PROGRAMS})
  if(NOT TARGET ${prog})
    continue() # a module without its main.c yet
  endif()
  set(man ${hc_gen_dir}/man1/${prog}.1)
  set(compl ${hc_gen_dir}/completions/${prog})
  add_custom_command(
    OUTPUT ${man} ${compl}
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/help2doc.py man
            $<TARGET_FILE:${prog}> ${man} --source "${HC_PACKAGE_NAME} ${PROJECT_VERSION}"
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/help2doc.py completion
            $<TARGET_FILE:${prog}> ${compl}
    DEPENDS ${prog} ${PROJECT_SOURCE_DIR}/cmake/help2doc.py
    COMMENT "man page and bash completion of ${prog} from its --help")
  list(APPEND hc_generated ${man} ${compl})
  install(TARGETS ${prog} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${man} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${compl} DESTINATION ${HC_COMPLETIONDIR})
endforeach()
add_custom_target(hc-docs ALL DEPENDS ${hc_generated})

install(FILES README.md DESTINATION ${HC_DOCDIR})
install(FILES docs/cookbook.md DESTINATION ${HC_DOCDIR})
# Copy-and-edit material: CI jobs and deployment manifests.
foreach(dir ci/github ci/gitlab deploy)
  install(DIRECTORY ${dir}/ DESTINATION ${HC_DOCDIR}/examples/${dir})
endforeach()

# --- Debian package -----------------------------------------------------------
set(CPACK_PACKAGE_NAME ${HC_PACKAGE_NAME})
set(CPACK_PACKAGE_VENDOR "healthcheck-conformance maintainers")
set(CPACK_PACKAGE_CONTACT "healthcheck-conformance maintainers <maintainers@users.noreply.r-seed-764cb90b.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "mock gRPC/HTTP health server and grpc.health.v1 conformance runner")
set(CPACK_PACKAGE_DESCRIPTION
    "mock-executor serves every grpc.health.v1 ServingStatus over gRPC and HTTP, changeable at \
run time, on timelines, with a Jina-like lifecycle and deliberately broken modes. \
health-conformance checks any health server against the protocol and writes text, TAP, \
JUnit and NDJSON reports.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# The runtime libraries the programs link (libmicrohttpd and GnuTLS through
# dlopen: mock_executor/lazylib.h), by their Debian 12 package names
# (dpkg -S on each .so). Written out rather than computed by dpkg-shlibdeps
# so the package is the same whatever the build machine has installed.
set(hc_depends libc6 libprotobuf-c1 libcurl4 libnghttp2-14 libmicrohttpd12 libgnutls30 libjansson4 libxml2
    libyaml-0-2)
if(NOT HC_STATIC_GRPC)
  list(APPEND hc_depends libgrpc29) # else gRPC is inside the programs
  if(HC_ABSL_QUIET)
    # The mock's absl shim links the shared absl_synchronization, C++.
    list(APPEND hc_depends libabsl20220623 libstdc++6)
  endif()
endif()
if(HC_SANITIZE)
  list(APPEND hc_depends libasan8 libubsan1) # a test build, not for distribution
endif()
string(REPLACE ";" ", " CPACK_DEBIAN_PACKAGE_DEPENDS "${hc_depends}")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
include(CPack)
