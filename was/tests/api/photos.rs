//! Store photos uploaded straight to S3 with a presigned PUT, against moto's S3 (a
//! stand-in for AWS: it shows the URL is one an S3 client can use and where the bytes
//! land; the signature itself is checked against botocore in `sigv4`'s unit tests).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_photo_goes_to_the_bucket_through_a_presigned_put_and_becomes_a_store_image() {
    let (_moto, _dir, moto) = start_moto("upbrella-s3");
    let http = reqwest::Client::new();
    // The bucket the stack creates (path-style, as the WAS uses with an endpoint).
    let created = http
        .put(format!("{moto}/upbrella-photos"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=setup/20260101/ap-northeast-2/s3/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(
            "<CreateBucketConfiguration><LocationConstraint>ap-northeast-2</LocationConstraint></CreateBucketConfiguration>",
        )
        .send()
        .await
        .expect("create bucket");
    assert!(created.status().is_success(), "{}", created.status());

    let app = spawn_app_with(&[
        ("PHOTO_BUCKET", "upbrella-photos"),
        ("PHOTO_REGION", "ap-northeast-2"),
        ("PHOTO_S3_ENDPOINT", &moto),
        ("AWS_ACCESS_KEY_ID", "AKIDPHOTOS"),
        ("AWS_SECRET_ACCESS_KEY", "photo-secret"),
    ])
    .await;
    let (admin, _) = app.admin().await;
    let store = app.store().await.store;
    let photo: Vec<u8> = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7u8; 4096][..]].concat();
    let upload = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/stores/{store}/images/uploads"),
            json!({"content_type": "image/jpeg", "size": photo.len()}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(upload["method"], "PUT");
    assert_eq!(upload["headers"], json!({"Content-Type": "image/jpeg"}));
    assert_eq!(upload["expires_in"], 600);
    let upload_url = url::Url::parse(upload["upload_url"].as_str().expect("url")).expect("URL");
    let image_url = upload["image_url"].as_str().expect("image url").to_owned();
    // stores/{id}/{uuid}.jpg, under the bucket's public URL (path-style with an endpoint).
    let prefix = format!("{moto}/upbrella-photos/stores/{store}/");
    let name = image_url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{image_url} is not under {prefix}"));
    assert!(
        name.len() == 32 + 4
            && name.ends_with(".jpg")
            && name[..32].bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    assert_eq!(
        upload_url.as_str().split('?').next(),
        Some(image_url.as_str())
    );
    let q: std::collections::HashMap<_, _> = upload_url.query_pairs().into_owned().collect();
    assert_eq!(q["X-Amz-Expires"], "600");
    assert_eq!(q["X-Amz-SignedHeaders"], "content-length;content-type;host");
    assert!(
        q["X-Amz-Credential"].starts_with("AKIDPHOTOS/")
            && q["X-Amz-Credential"].ends_with("/ap-northeast-2/s3/aws4_request"),
        "{}",
        q["X-Amz-Credential"]
    );

    // The browser's part: PUT the file, as it is, to the signed URL.
    let put = http
        .put(upload_url.as_str())
        .header("content-type", "image/jpeg")
        .body(photo.clone())
        .send()
        .await
        .expect("upload");
    assert!(
        put.status().is_success(),
        "{}: {:?}",
        put.status(),
        put.text().await
    );
    // Read back as the operator's AWS account would (moto keeps objects private; in AWS
    // the bucket policy or a CDN, PHOTO_PUBLIC_BASE_URL, serves them to everyone).
    let stored = http
        .get(&image_url)
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=setup/20260101/ap-northeast-2/s3/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send()
        .await
        .expect("read back");
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(stored.headers()["content-type"], "image/jpeg");
    assert_eq!(
        stored.bytes().await.expect("bytes").as_ref(),
        photo.as_slice()
    );

    // Then the console adds it to the store, as any image URL.
    let image = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/stores/{store}/images"),
            json!({"url": image_url}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(image["url"], image_url.as_str());

    // Two uploads never share a key.
    let again = json_ok(
        app.post(
            &admin,
            &format!("/api/admin/stores/{store}/images/uploads"),
            json!({"content_type": "image/webp", "size": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(
        again["image_url"]
            .as_str()
            .is_some_and(|u| u.ends_with(".webp") && u != image_url)
    );

    for (body, code) in [
        (
            json!({"content_type": "image/gif", "size": 10}),
            "unsupported_image_type",
        ),
        (
            json!({"content_type": "text/html", "size": 10}),
            "unsupported_image_type",
        ),
        (
            json!({"content_type": "image/png", "size": 0}),
            "invalid_image_size",
        ),
        (
            json!({"content_type": "image/png", "size": 10 * 1024 * 1024 + 1}),
            "invalid_image_size",
        ),
    ] {
        let p = problem(
            app.post(
                &admin,
                &format!("/api/admin/stores/{store}/images/uploads"),
                body.clone(),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p["code"], code, "{body}");
    }
    // 10 MiB exactly is accepted.
    json_ok(
        app.post(
            &admin,
            &format!("/api/admin/stores/{store}/images/uploads"),
            json!({"content_type": "image/png", "size": 10 * 1024 * 1024}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/admin/stores/999999/images/uploads",
            json!({"content_type": "image/png", "size": 10}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn without_a_bucket_uploads_are_404_uploads_unavailable() {
    let app = spawn_app().await;
    let (admin, _) = app.admin().await;
    let store = app.store().await.store;
    let p = problem(
        app.post(
            &admin,
            &format!("/api/admin/stores/{store}/images/uploads"),
            json!({"content_type": "image/jpeg", "size": 1000}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(p["code"], "uploads_unavailable");
}
