# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt): what depends on
# the prefix given at install time. CANON_* come from the install(CODE) before.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(sysconfdir "/etc") # as GNUInstallDirs does
else()
  set(sysconfdir "${prefix}/etc")
endif()

# The systemd unit, naming this prefix's binary and config.
set(CANON_EXEC "${prefix}/${CANON_BINDIR}/canon")
set(CANON_CONF "${sysconfdir}/canon/canon.conf")
configure_file("${CANON_SOURCE_DIR}/contrib/canon.service.in"
               "${CANON_BINARY_DIR}/canon.service" @ONLY)
file(INSTALL "${CANON_BINARY_DIR}/canon.service"
     DESTINATION "${prefix}/${CANON_SYSTEMD_UNIT_DIR}")

# The example config and its zone, unless an operator's config is there already.
if(EXISTS "$ENV{DESTDIR}${CANON_CONF}")
  message(STATUS "Kept: $ENV{DESTDIR}${CANON_CONF}")
else()
  file(INSTALL "${CANON_SOURCE_DIR}/contrib/canon.conf"
               "${CANON_SOURCE_DIR}/examples/example.test.zone"
       DESTINATION "${sysconfdir}/canon")
endif()
