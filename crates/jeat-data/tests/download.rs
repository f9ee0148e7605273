//! Downloads against a small HTTP server on the loopback interface: resume after a cut
//! connection, checksum mismatches that leave nothing behind, mirror fallback, unpacking, and a
//! whole fetch of the real Fashion-MNIST files when they are installed.

use jeat_data::catalog::DatasetName;
use jeat_data::checksum::{Checksums, md5_file};
use jeat_data::download::{
    FetchOptions, FetchOutcome, download_file, fetch_dataset, part_path, unpack_tar_gz,
};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// What the server saw: (path, Range header) per request.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Serves `files` on 127.0.0.1 for up to `max_requests` requests. The first response of a path
/// listed in `cut_first` stops after half its body, as a dropped connection would.
fn serve(
    files: HashMap<String, Vec<u8>>,
    cut_first: Vec<String>,
    max_requests: usize,
) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = log.clone();
    std::thread::spawn(move || {
        let mut cut = cut_first;
        for stream in listener.incoming().take(max_requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let path = request_line.split_whitespace().nth(1).unwrap_or("/")[1..].to_string();
            let mut range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = Some(value.trim().trim_end_matches('-').to_string());
                }
            }
            seen.lock().unwrap().push((path.clone(), range.clone()));
            let Some(body) = files.get(&path) else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let start: usize = range.as_deref().map_or(0, |r| r.parse().unwrap());
            let status = if start > 0 {
                "206 Partial Content"
            } else {
                "200 OK"
            };
            let rest = &body[start..];
            let header = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                rest.len()
            );
            let _ = stream.write_all(header.as_bytes());
            if let Some(i) = cut.iter().position(|p| *p == path) {
                cut.remove(i);
                let _ = stream.write_all(&rest[..rest.len() / 2]);
                let _ = stream.shutdown(std::net::Shutdown::Both);
                continue;
            }
            let _ = stream.write_all(rest);
        }
    });
    (base, log)
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn payload() -> Vec<u8> {
    (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

fn checksums_of(bytes: &[u8]) -> Checksums {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    std::fs::write(&path, bytes).unwrap();
    Checksums {
        md5: leak(md5_file(&path).unwrap()),
        content_md5: None,
    }
}

#[test]
fn a_cut_download_resumes_with_a_range_request() {
    let body = payload();
    let files = HashMap::from([("f.bin".to_string(), body.clone())]);
    let (base, log) = serve(files, vec!["f.bin".into()], 2);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f.bin");
    let expected = checksums_of(&body);
    let first = download_file(&format!("{base}f.bin"), &dest, &expected, false);
    assert!(
        first.is_err(),
        "a cut connection must not count as a download"
    );
    assert!(!dest.exists(), "nothing may appear under the final name");
    let kept = std::fs::metadata(part_path(&dest)).unwrap().len();
    assert!(kept > 0 && (kept as usize) < body.len());
    download_file(&format!("{base}f.bin"), &dest, &expected, false).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(!part_path(&dest).exists());
    let log = log.lock().unwrap();
    assert_eq!(
        log[1].1.as_deref(),
        Some(kept.to_string().as_str()),
        "{log:?}"
    );
}

#[test]
fn a_checksum_mismatch_leaves_nothing_behind() {
    let body = payload();
    let (base, _) = serve(HashMap::from([("f.bin".to_string(), body)]), vec![], 1);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f.bin");
    let wrong = Checksums {
        md5: "00000000000000000000000000000000",
        content_md5: None,
    };
    let err = download_file(&format!("{base}f.bin"), &dest, &wrong, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("checksum mismatch") && err.contains("expected 0000"),
        "{err}"
    );
    assert!(!dest.exists() && !part_path(&dest).exists());
}

#[test]
fn an_unreachable_server_is_a_one_line_error_naming_the_address() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 on loopback: nothing listens there.
    let url = "http://127.0.0.1:9/f.bin";
    let expected = checksums_of(b"x");
    let err = download_file(url, &dir.path().join("f"), &expected, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains(url) && !err.contains('\n'), "{err}");
}

#[test]
fn archives_unpack_into_place_only_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a.tar.gz");
    {
        let file = std::fs::File::create(&archive).unwrap();
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ));
        let data = b"record";
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, "batches/test_batch.bin", &data[..])
            .unwrap();
        builder.into_inner().unwrap().finish().unwrap();
    }
    unpack_tar_gz(&archive, dir.path(), "batches").unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("batches/test_batch.bin")).unwrap(),
        b"record"
    );
    let err = unpack_tar_gz(&archive, dir.path(), "other")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected the archive to contain other/"),
        "{err}"
    );
    assert!(!dir.path().join("other").exists());
}

/// Serves the installed real Fashion-MNIST files (Debian recompresses them, so they verify by
/// their decompressed checksum) from a first mirror that fails and a second that works.
#[test]
fn fetching_fashion_mnist_end_to_end_from_a_mirror() {
    let installed = std::path::Path::new("/usr/share/datasets/fashion-mnist");
    let names = DatasetName::FashionMnist
        .source()
        .files
        .iter()
        .map(|f| f.file_name);
    let read = names
        .map(|n| std::fs::read(installed.join(n)).map(|bytes| (format!("good/{n}"), bytes)))
        .collect::<Result<HashMap<_, _>, _>>()
        .map_err(|_| {
            format!(
                "no installed Fashion-MNIST under {} to serve (apt-get install dataset-fashion-mnist)",
                installed.display()
            )
        });
    let Some(files) = jeat_core::testing::real_data(read, "the installed Fashion-MNIST") else {
        return;
    };
    let (base, log) = serve(files, vec![], 16);
    let root = tempfile::tempdir().unwrap();
    let options = FetchOptions {
        progress: false,
        base_urls: Some(vec![format!("{base}missing/"), format!("{base}good/")]),
        ignore_installed: true,
    };
    let outcome = fetch_dataset(DatasetName::FashionMnist, root.path(), &options).unwrap();
    let dir = DatasetName::FashionMnist.dir_in(root.path());
    assert_eq!(outcome, FetchOutcome::Downloaded(dir.clone()));
    assert_eq!(
        DatasetName::FashionMnist
            .read_split(&dir, jeat_data::Split::Test)
            .unwrap()
            .len(),
        10_000
    );
    // A second fetch finds the verified copy and downloads nothing.
    let requests = log.lock().unwrap().len();
    assert_eq!(
        requests, 8,
        "each file: one 404 from the first mirror, one download"
    );
    let again = fetch_dataset(DatasetName::FashionMnist, root.path(), &options).unwrap();
    assert_eq!(again, FetchOutcome::AlreadyPresent(dir));
    assert_eq!(log.lock().unwrap().len(), requests);
}
