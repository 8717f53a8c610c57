// Drives the npm open311 client (codeforamerica/node-open311, JSON mode)
// against an Open311 server: discovery, services, service definition,
// POST, token, GET requests, GET one request. Prints one JSON object.
const Open311 = require('open311');
const base = process.argv[2]; // e.g. http://127.0.0.1:PORT/open311/v2/
const out = {};
const fail = (step, err) => { out.error = step + ': ' + (err && err.message ? err.message : JSON.stringify(err)); console.log(JSON.stringify(out)); process.exit(1); };
const client = new Open311({ discovery: base + 'discovery.json', apiKey: 'sandbox-key' });
client.serviceDiscovery({ cache: true, type: 'test' }, (err, d) => {
  if (err) return fail('discovery', err);
  out.endpoints = d.endpoints.length;
  out.endpoint = client.endpoint;
  client.serviceList((err, services) => {
    if (err) return fail('services', err);
    out.services = services.length;
    const code = services[0].service_code;
    client.serviceDefinition(encodeURIComponent(code), (err, def) => {
      if (err) return fail('definition', err);
      out.attributes = def.attributes.length;
      client.submitRequest({ service_code: code, lat: 42.35, long: -71.06, description: 'from npm open311' }, (err, posted) => {
        if (err) return fail('post', err);
        const token = posted[0].token;
        out.token = token;
        client.token(token, (err, t) => {
          if (err) return fail('token', err);
          const id = t[0].service_request_id;
          out.id = id;
          client.serviceRequests({ status: 'open' }, (err, reqs) => {
            if (err) return fail('requests', err);
            out.requests = reqs.length;
            client.serviceRequest(id, (err, one) => {
              if (err) return fail('one', err);
              out.one = one[0].service_request_id;
              out.one_status = one[0].status;
              console.log(JSON.stringify(out));
            });
          });
        });
      });
    });
  });
});
