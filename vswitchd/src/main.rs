//! `vswitchd`: a virtual switch daemon that stands in for `ovs-vswitchd`.

fn main() {
    eprintln!("vswitchd: not built yet");
    std::process::exit(1);
}
