// libFuzzer target: arbitrary bytes as a `blaze import` file (JSON lines).
// The reader must refuse bad input with a tool_error and nothing else; every
// document it accepts must print (as `blaze export` does) and read back the same.
#include "json_codec.hpp"
#include "tool_error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

using namespace blaze::cli;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in{std::string{reinterpret_cast<const char*>(data), size}};
  std::vector<numbered_document> docs;
  try {
    docs = read_documents(in, "fuzz");
  } catch (const tool_error&) {
    return 0;
  }
  std::string printed;
  for (auto& d : docs)
    printed += to_line(record_to_json(d.doc.content, d.doc.collection)) + "\n";
  std::istringstream back_in{printed};
  std::vector<numbered_document> back;
  try {
    back = read_documents(back_in, "printed");
  } catch (const tool_error&) {
    std::abort(); // what export prints, import must take
  }
  if (back.size() != docs.size())
    std::abort();
  std::string reprinted;
  for (auto& d : back)
    reprinted += to_line(record_to_json(d.doc.content, d.doc.collection)) + "\n";
  if (reprinted != printed)
    std::abort();
  return 0;
}
