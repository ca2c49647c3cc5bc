"""GLSL 120 shaders of the splat visual (OpenGL 2.1: attribute/varying, gl_FragColor).

Per splat (the 3DGS reference's EWA splatting, as gsplat's projection): the 3D covariance is
projected with the Jacobian of the clip matrix at the splat centre (its screen position clamped
to 1.3 x the view, as gsplat clamps), plus the 0.3 px low-pass term; one triangle circumscribes
the ellipse where opacity x Gaussian reaches 1/255 (3 vertices rather than a quad's 4: llvmpipe
is vertex-bound); the fragment weight is min(0.999, opacity x exp(-d^T Sigma^-1 d / 2)) as in
gsplat's kernel, output premultiplied. (gsplat also stops a pixel before a splat would leave it
less than 1e-4 transmittance; drawn back to front, those splats weigh under 1e-4 here.)
"""

VERTEX = """
uniform mat4 u_mvp;           // world -> clip
uniform vec2 u_viewport;      // render target size in pixels
uniform float u_near;
uniform vec3 u_crop_min;
uniform vec3 u_crop_max;
uniform float u_crop_on;
uniform float u_highlight;
attribute vec4 a_t0;          // x, y, z, opacity
attribute vec4 a_t1;          // cov xx, xy, xz, yy
attribute vec4 a_t2;          // cov yz, zz, packed rgb, reach (negative: marked)
attribute vec2 a_corner;      // corner of the unit circle's circumscribed triangle
varying vec4 v_color;         // rgb, opacity
varying vec2 v_offset;        // pixels from the splat centre
varying vec3 v_conic;         // inverse 2D covariance (xx, xy, yy)

void main() {
    gl_Position = vec4(0.0, 0.0, 2.0, 1.0);  // culled unless set below
    vec4 clip = u_mvp * vec4(a_t0.xyz, 1.0);
    if (clip.w <= u_near) return;
    if (u_crop_on > 0.5 && (any(lessThan(a_t0.xyz, u_crop_min)) ||
                            any(greaterThan(a_t0.xyz, u_crop_max)))) return;
    vec2 ndc = clip.xy / clip.w;
    vec2 lim = clamp(ndc, -1.3, 1.3);
    vec3 rx = vec3(u_mvp[0][0], u_mvp[1][0], u_mvp[2][0]);
    vec3 ry = vec3(u_mvp[0][1], u_mvp[1][1], u_mvp[2][1]);
    vec3 rw = vec3(u_mvp[0][3], u_mvp[1][3], u_mvp[2][3]);
    vec3 jx = (rx - lim.x * rw) * (0.5 * u_viewport.x / clip.w);
    vec3 jy = (ry - lim.y * rw) * (0.5 * u_viewport.y / clip.w);
    mat3 cov = mat3(a_t1.x, a_t1.y, a_t1.z, a_t1.y, a_t1.w, a_t2.x, a_t1.z, a_t2.x, a_t2.y);
    vec3 cx = cov * jx;
    vec3 cy = cov * jy;
    float a = dot(jx, cx) + 0.3;
    float b = dot(jx, cy);
    float c = dot(jy, cy) + 0.3;
    float det = a * c - b * b;
    float reach = abs(a_t2.w);
    if (det <= 0.0 || reach <= 0.0) return;
    float mid = 0.5 * (a + c);
    float l1 = mid + sqrt(max(mid * mid - det, 0.0));
    float l2 = det / l1;
    vec2 e1 = abs(b) > 1e-12 * l1 ? normalize(vec2(b, l1 - a)) :
              (a >= c ? vec2(1.0, 0.0) : vec2(0.0, 1.0));
    vec2 centre = (ndc * 0.5 + 0.5) * u_viewport;
    float radius = reach * sqrt(l1);
    if (any(greaterThan(abs(centre - 0.5 * u_viewport), 0.5 * u_viewport + radius))) return;
    vec2 offset = reach * (a_corner.x * sqrt(l1) * e1 + a_corner.y * sqrt(l2) * vec2(-e1.y, e1.x));
    gl_Position = vec4(ndc + offset * 2.0 / u_viewport, 0.0, 1.0);
    v_offset = offset;
    v_conic = vec3(c, -b, a) / det;
    float blue = floor(a_t2.z / 65536.0);
    float green = floor((a_t2.z - blue * 65536.0) / 256.0);
    vec3 rgb = vec3(a_t2.z - blue * 65536.0 - green * 256.0, green, blue) / 255.0;
    if (u_highlight > 0.5 && a_t2.w < 0.0) rgb = mix(rgb, vec3(1.0, 0.0, 0.85), 0.8);
    v_color = vec4(rgb, a_t0.w);
}
"""

FRAGMENT = """
varying vec4 v_color;
varying vec2 v_offset;
varying vec3 v_conic;

void main() {
    vec2 d = v_offset;
    float power = -0.5 * (v_conic.x * d.x * d.x + v_conic.z * d.y * d.y) - v_conic.y * d.x * d.y;
    float alpha = min(0.999, v_color.a * exp(power));  // gsplat's kernel clamps at 0.999
    if (power > 0.0 || alpha < 1.0 / 255.0) discard;
    gl_FragColor = vec4(v_color.rgb * alpha, alpha);
}
"""

BLIT_VERTEX = """
attribute vec2 a_position;
varying vec2 v_uv;
void main() {
    v_uv = a_position * 0.5 + 0.5;
    gl_Position = vec4(a_position, 0.0, 1.0);
}
"""

BLIT_FRAGMENT = """
uniform sampler2D u_image;
varying vec2 v_uv;
void main() {
    gl_FragColor = texture2D(u_image, v_uv);
}
"""
