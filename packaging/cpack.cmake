# Debian packages (docs/DEPLOY.md "Packages"): `cpack -G DEB` in a build tree makes
#   aisle-node  aisle-node, the proxy/target units, /etc/aisle/{proxy,target-1}.json, user aisle
#   aisle       the CLI
#   aisle-fs    aisle-fs, /sbin/mount.fuse.aisle, the aisle-fs@ unit, /etc/aisle/fs-data.conf
# Runtime Depends come from dpkg-shlibdeps plus what is run rather than linked.
# packaging/build-debs.sh runs it; tests/integration/test_packaging.py packages the test tree.
set(_pkg ${PROJECT_SOURCE_DIR}/packaging)

# Files that are no target's: absolute destinations (the packages' prefix is /usr).
install(FILES ${_pkg}/etc/proxy.json ${_pkg}/etc/target-1.json
        DESTINATION /etc/aisle PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT node)
install(FILES ${_pkg}/systemd/aisle-proxy.service ${_pkg}/systemd/aisle-target@.service
        DESTINATION /lib/systemd/system COMPONENT node)
install(FILES ${PROJECT_SOURCE_DIR}/docs/DEPLOY.md DESTINATION share/doc/aisle-node COMPONENT node)
if(AISLE_BUILD_FS)
  install(PROGRAMS ${_pkg}/mount.fuse.aisle DESTINATION /sbin COMPONENT fs)
  install(FILES ${_pkg}/etc/fs-data.conf DESTINATION /etc/aisle COMPONENT fs)
  install(FILES ${_pkg}/systemd/aisle-fs@.service DESTINATION /lib/systemd/system COMPONENT fs)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/DEPLOY.md DESTINATION share/doc/aisle-fs COMPONENT fs)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME aisle)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Aisle")
set(CPACK_PACKAGE_CONTACT "Aisle developers <aisle@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # the build's debug info stays in the build tree
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_COMPONENTS_ALL node cli)
if(AISLE_BUILD_FS)
  list(APPEND CPACK_COMPONENTS_ALL fs)
endif()
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_NODE_PACKAGE_NAME aisle-node)
set(CPACK_DEBIAN_NODE_DESCRIPTION
    "Aisle storage node (proxy and target)\n AIStore-compatible REST and S3 API, shards, ETL.")
# python3: the ETL runtime for Python code transforms; adduser: postinst makes user aisle.
set(CPACK_DEBIAN_NODE_PACKAGE_DEPENDS "adduser, python3")
set(CPACK_DEBIAN_NODE_PACKAGE_CONTROL_EXTRA
    ${_pkg}/debian/aisle-node/conffiles ${_pkg}/debian/aisle-node/postinst
    ${_pkg}/debian/aisle-node/prerm ${_pkg}/debian/aisle-node/postrm)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME aisle)
set(CPACK_DEBIAN_CLI_DESCRIPTION "Aisle command-line client\n Buckets, objects, shards, jobs, ETL.")

set(CPACK_DEBIAN_FS_PACKAGE_NAME aisle-fs)
set(CPACK_DEBIAN_FS_DESCRIPTION
    "Aisle FUSE client\n Mounts an Aisle cluster or bucket (mount -t fuse.aisle).")
set(CPACK_DEBIAN_FS_PACKAGE_DEPENDS "fuse3")
set(CPACK_DEBIAN_FS_PACKAGE_CONTROL_EXTRA
    ${_pkg}/debian/aisle-fs/conffiles ${_pkg}/debian/aisle-fs/prerm ${_pkg}/debian/aisle-fs/postrm)

include(CPack)
