# Every dependency is a Debian 12 package (deploy/bootstrap.sh installs them).
# See ../shared/design/toolchain.md for why each is found this way.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# CAF 0.17.6 ships neither a CMake config nor a .pc file.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIB caf_core REQUIRED)
add_library(caf_core INTERFACE)
target_include_directories(caf_core SYSTEM INTERFACE ${CAF_INCLUDE_DIR})
target_link_libraries(caf_core INTERFACE ${CAF_CORE_LIB} Threads::Threads)

# Debian's cnats-config.cmake references a static library it does not ship: use pkg-config.
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(UUID REQUIRED IMPORTED_TARGET uuid)
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)  # Debian ships it compiled
pkg_check_modules(LWS REQUIRED IMPORTED_TARGET libwebsockets)     # venue-sim's WebSocket side (4.1)
find_package(nlohmann_json 3 CONFIG REQUIRED)
find_package(fmt 9 CONFIG REQUIRED)
find_package(Catch2 2 CONFIG REQUIRED)
# valijson is header-only and has no CMake config in Debian.
find_path(VALIJSON_INCLUDE_DIR valijson/validator.hpp REQUIRED)
if(POLYTRADE_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()
find_program(NATS_SERVER_BIN nats-server PATHS /usr/sbin /usr/bin REQUIRED)
set(PG_BIN_DIR /usr/lib/postgresql/15/bin CACHE PATH "PostgreSQL server binaries")
