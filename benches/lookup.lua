-- wrk script: look up one status by code per request. The code comes from
-- the CODE environment variable (benches/intake-load.sh files a report first).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"code":"' .. os.getenv("CODE") .. '"}'
