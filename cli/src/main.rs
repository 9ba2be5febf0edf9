fn main() {
    println!("pls {}", env!("CARGO_PKG_VERSION"));
}
