// A C++ program with exceptions for the label-normalisation tests: .eh_frame with LSDAs and
// personality pointers, .gcc_except_table, vtables (R_X86_64_RELATIVE in a PIE).
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
};
struct Square : Shape {
    double side;
    explicit Square(double s) : side(s) { if (s < 0) throw std::invalid_argument("negative side"); }
    double area() const override { return side * side; }
};
struct Circle : Shape {
    double radius;
    explicit Circle(double r) : radius(r) { if (r > 100) throw std::out_of_range("too large"); }
    double area() const override { return 3.14159 * radius * radius; }
};

static std::unique_ptr<Shape> make(int i) {
    if (i % 2) return std::make_unique<Circle>(i * 7.0);
    return std::make_unique<Square>(i % 5 == 0 ? -1.0 : i * 1.5);
}

int main(int argc, char **) {
    std::map<std::string, int> errors;
    double total = 0;
    for (int i = 0; i < 40 + argc; i++) {
        try {
            auto shape = make(i);
            total += shape->area();
        } catch (const std::exception &e) {
            errors[e.what()]++;
        }
    }
    std::vector<std::string> lines;
    for (auto &[what, count] : errors) lines.push_back(what + "=" + std::to_string(count));
    std::printf("%.2f", total);
    for (auto &line : lines) std::printf(" %s", line.c_str());
    std::printf("\n");
    return 0;
}
