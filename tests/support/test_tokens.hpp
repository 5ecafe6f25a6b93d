// The API tokens of every integration test: viewer-token, operator-token and
// admin-token (stored as their SHA-256, as switchyardd expects).
#pragma once

#include <fstream>
#include <string>

namespace switchyard::testing {

inline void write_test_tokens(const std::string& path) {
  std::ofstream(path) << "tokens:\n"
                      << "  - {name: test-viewer, role: viewer, sha256: "
                         "d036bd6d01a1cae081d39a2f8dab751dc042de814fd60df31fcb553170950f29}\n"
                      << "  - {name: test-operator, role: operator, sha256: "
                         "0850123315d21ab90f4f7236408a52ef6dbd6a02a6550e5c10dc73f4d993680e}\n"
                      << "  - {name: test-admin, role: admin, sha256: "
                         "10a4c7c9fc5206d6f36dc6944a81bb6f4a3cb0e25014ae3b12e6c3e52712292a}\n";
}

} // namespace switchyard::testing
