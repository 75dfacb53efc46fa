"""The local compose stack's photo bucket: moto's S3 on port 4566, made at every start
with the bucket, a CORS rule for the site's origins and a policy letting anyone read
stores/* (moto keeps objects in memory, so a restarted container starts empty and makes
the bucket again).

PHOTO_BUCKET names the bucket; PHOTO_CORS_ORIGINS lists the origins (comma-separated)
that may PUT (with Content-Type) and GET, as the template's rule does for the site.
"""

import json
import os
import signal
import urllib.request

from moto.server import ThreadedMotoServer

PORT = 4566


def put(url, body):
    request = urllib.request.Request(url, data=body.encode(), method="PUT",
                                     headers={"Content-Type": "application/xml"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def main():
    bucket = os.environ["PHOTO_BUCKET"]
    origins = [o.strip() for o in os.environ["PHOTO_CORS_ORIGINS"].split(",") if o.strip()]
    server = ThreadedMotoServer(ip_address="0.0.0.0", port=PORT, verbose=False)
    server.start()
    # Unsigned path-style calls: moto does not check signatures.
    base = f"http://127.0.0.1:{PORT}/{bucket}"
    put(base, "<CreateBucketConfiguration><LocationConstraint>ap-northeast-2</LocationConstraint>"
              "</CreateBucketConfiguration>")
    allowed = "".join(f"<AllowedOrigin>{o}</AllowedOrigin>" for o in origins)
    put(f"{base}?cors", f"<CORSConfiguration><CORSRule>{allowed}<AllowedMethod>PUT</AllowedMethod>"
                        "<AllowedMethod>GET</AllowedMethod><AllowedHeader>Content-Type</AllowedHeader>"
                        "<MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>")
    # As in AWS, anyone may read stores/* (moto refuses anonymous reads without it).
    put(f"{base}?policy", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PublicReadOfStorePhotos", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/stores/*"}]}))
    print(f"photo bucket {bucket} on port {PORT}, CORS for {', '.join(origins)}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
