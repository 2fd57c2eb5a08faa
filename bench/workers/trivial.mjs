// The baseline: a worker that answers every request with a constant (the same narinfo bytes and content type the
// cache worker serves), run in the same runtime, the same way. Whatever it costs is the runtime's.
export default {
  fetch(request, env) {
    return new Response(env.CONSTANT_BODY, { headers: { "content-type": "text/x-nix-narinfo" } });
  },
};
