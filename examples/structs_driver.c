#include <stdio.h>

typedef struct { int x, y; } point;
typedef struct { point a, b; } segment;
typedef struct { double x, y, z; } vec3;

point point_add(point a, point b);
long long segment_length2(segment s);
vec3 vec3_scale(vec3 v, double k);

int main(void)
{
	point p = point_add((point){1, 2}, (point){30, 40});
	segment s = {{0, 0}, {3, 4}};
	vec3 v = vec3_scale((vec3){1.5, -2, 0.25}, 4);

	printf("point_add: (%d, %d)\n", p.x, p.y);
	printf("segment_length2: %lld\n", segment_length2(s));
	printf("vec3_scale: (%g, %g, %g)\n", v.x, v.y, v.z);
	return 0;
}
