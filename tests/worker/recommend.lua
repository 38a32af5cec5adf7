-- wrk script: POST /recommend with the seed's example body.
wrk.method = "POST"
wrk.body = '{"user_id": "U10001", "top_n": 10, "exclude_rated": true}'
wrk.headers["Content-Type"] = "application/json"
