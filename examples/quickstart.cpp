// Open an encrypted database, write records, query them, watch changes.
// Usage: quickstart DIR
#include <blaze/storage/database.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: quickstart DIR\n";
    return 2;
  }
  // Creates the store on first use; the password never leaves this process.
  auto opened = blaze::database::open("notes", argv[1], "correct horse battery staple");
  if (!opened) {
    std::cerr << opened.error().to_string() << "\n";
    return 1;
  }
  blaze::database& db = **opened;

  // Observers see every committed change, local or replicated.
  db.subscribe([](const blaze::change& c) {
    std::cout << "  changed " << c.collection << "/" << c.id << (c.deleted ? " (deleted)" : "")
              << "\n";
  });

  // put merges fields into the record, creating it if needed.
  db.put("notes", "n1", {{"title", "Buy milk"}, {"done", false}, {"priority", 2}}).value();
  db.put("notes", "n2", {{"title", "Call Ann"}, {"done", true}, {"priority", 5}}).value();
  db.put("notes", "n3", {{"title", "Ship Blaze"}, {"done", false}, {"priority", 9}}).value();
  db.put("notes", "n1", {{"priority", 7}}).value(); // merges: title and done stay
  db.remove_field("notes", "n2", "done").value();

  auto n1 = db.get("notes", "n1").value();
  std::cout << "n1.title = " << n1->field("title")->to_display()
            << ", priority = " << n1->field("priority")->to_display() << "\n";

  // Open tasks by priority, highest first.
  auto open_tasks = db.find(blaze::query("notes")
                              .when("done", blaze::compare_op::eq, false)
                              .order("priority", /*desc=*/true)
                              .take(10))
                      .value();
  for (auto& r : open_tasks)
    std::cout << "open: " << r.id << " " << r.field("title")->to_display() << "\n";

  db.erase("notes", "n2").value();
  std::cout << "records: " << db.count("notes").value()
            << ", ops in the log: " << db.ops_since({}).value().size() << "\n";

  // Errors are values: a bad name is reported, nothing is written.
  auto bad = db.put("no/slashes", "x", {{"a", 1}});
  std::cout << "bad collection: " << bad.error().to_string() << "\n";
  return 0;
}
