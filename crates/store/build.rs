// embed_migrations! cannot see new migration folders on its own.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
