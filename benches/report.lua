-- wrk script: file one JSON report per request (benches/intake-load.sh).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"unit":"province","category":"office_trading","accused":{"name":"张三","position":"某局局长","role":"ordinary"},"selection_stage":"inspection","narrative":"' .. string.rep("他在考察期间请多名推荐人吃饭并送购物卡。", 40) .. '","real_name":false,"reporter":{"name":"","phone":""}}'
